using System.CommandLine;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn verify`: check a function's snapshot memory file against the digest kept in its state file.</summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the function whose snapshot to check" };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var command = new Command("verify", "check a snapshot's whole memory file against the digest written with it") { function, json };
        command.SetAction(parse =>
        {
            using var service = LocalPlatform.Open();
            // A mismatch throws: one line naming the ranges and the remedy, exit code 1.
            var result = service.VerifySnapshot(parse.GetValue(function)!);
            if (parse.GetValue(json))
            {
                OutputWriter.WriteJson(new
                {
                    function = result.Function, memory_file = result.MemoryPath, ok = true, digest = result.Digest, bytes_read = result.BytesRead,
                    ms = result.Milliseconds, recordings = result.Recordings.Select(r => new { kind = r.Kind, file = r.Path, bytes_compared = r.BytesCompared }),
                });
                return 0;
            }
            Console.WriteLine($"OK {result.Function}: {result.MemoryPath} matches {result.Digest} ({result.BytesRead} bytes of data checked in {result.Milliseconds:0} ms)");
            foreach (var recording in result.Recordings)
                Console.WriteLine($"OK {result.Function}: {recording.Kind} recording {recording.Path} matches the memory file ({recording.BytesCompared} bytes compared)");
            return 0;
        });
        return command;
    }
}
