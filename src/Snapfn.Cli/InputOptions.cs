using System.CommandLine;
using System.Text;

namespace Snapfn.Cli;

/// <summary>--input FILE and --input-text TEXT: where a request's input comes from (empty when neither is given).</summary>
public sealed class InputOptions
{
    public Option<FileInfo?> File { get; } = new("--input") { Description = "read the request's input from FILE" };

    public Option<string?> Text { get; } = new("--input-text") { Description = "use TEXT as the request's input" };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(File);
        command.Options.Add(Text);
    }

    public byte[] Read(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var file = parse.GetValue(File);
        var text = parse.GetValue(Text);
        if (file is not null && text is not null)
            throw new UsageException("give either --input or --input-text, not both");
        if (text is not null)
            return Encoding.UTF8.GetBytes(text);
        if (file is null)
            return [];
        try
        {
            return System.IO.File.ReadAllBytes(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read input file '{file.FullName}': {e.Message}", e);
        }
    }
}
