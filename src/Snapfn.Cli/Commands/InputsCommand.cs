using System.CommandLine;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn inputs`: write a function's built-in input A or B (the bytes `--input-set` sends).</summary>
public static class InputsCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the function whose input to write" };
        var set = new Argument<string>("set") { Description = "A or B: the paper's recording and testing inputs", HelpName = "A|B" };
        var output = new Option<FileInfo?>("--out") { Description = "write to FILE instead of standard output", HelpName = "FILE" };
        var command = new Command("inputs", "write a function's built-in input A or B, made deterministically") { function, set, output };
        command.SetAction(parse =>
        {
            var bytes = InputOptions.BuiltIn(parse.GetValue(function)!, InputOptions.ParseSet(parse.GetValue(set)!));
            var file = parse.GetValue(output);
            if (file is null)
            {
                OutputWriter.WriteRaw(bytes);
                return 0;
            }
            try
            {
                File.WriteAllBytes(file.FullName, bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot write '{file.FullName}': {e.Message}", e);
            }
            return 0;
        });
        return command;
    }
}
