using System.CommandLine;
using Snapfn.Cli;
using Snapfn.Cli.Commands;

var root = new RootCommand("Snapfn: serverless functions in KVM micro-VMs restored from memory snapshots");
root.Subcommands.Add(FunctionsCommand.Create());
root.Subcommands.Add(RunCommand.Create());
return CliErrors.Guard(() => root.Parse(args).Invoke());
