using System.CommandLine;
using System.CommandLine.Invocation;
using Snapfn.Cli;
using Snapfn.Cli.Commands;

var root = new RootCommand("Snapfn: serverless functions in KVM micro-VMs restored from memory snapshots");
root.Subcommands.Add(FunctionsCommand.Create());
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ExecCommand.Create());
root.Subcommands.Add(InputsCommand.Create());
root.Subcommands.Add(SnapshotCommand.Create());
root.Subcommands.Add(InvokeCommand.Create());
root.Subcommands.Add(RecordCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(NewCommand.Create());
root.Subcommands.Add(BuildCommand.Create());
root.Subcommands.Add(DeployCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(MicrobenchCommand.Create());
root.Subcommands.Add(RuntimesCommand.Create());
root.Subcommands.Add(VerifyCommand.Create());
root.Subcommands.Add(LogsCommand.Create()); // h21-obs
return CliErrors.Guard(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
