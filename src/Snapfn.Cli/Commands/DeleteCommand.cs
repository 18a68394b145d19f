using System.CommandLine;
using Snapfn.Cli.Remote;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn delete NAME [--server URL]`: removes a user function with its snapshot and recordings; through a
/// node of a cluster, from every node (docs/cluster.md, "Deleting a function").</summary>
public static class DeleteCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the user function to delete" };
        var server = new ServerOptions();
        var command = new Command("delete", "remove a user function with its snapshot and recordings (through a cluster's node: from the whole cluster)") { function };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var name = parse.GetValue(function)!;
            using (var client = server.Connect(parse))
            {
                if (client is not null)
                {
                    client.Delete(name);
                    Console.Error.WriteLine($"deleted {name} (through {client.Server})");
                    return 0;
                }
            }
            using var service = LocalPlatform.Open();
            service.Delete(name);
            Console.Error.WriteLine($"deleted {name}");
            return 0;
        });
        return command;
    }
}
