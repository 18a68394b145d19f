using System.CommandLine;
using System.Text;
using Snapfn.Bench.Inputs;
using Snapfn.Platform;

namespace Snapfn.Cli;

/// <summary>
/// --input FILE, --input-text TEXT and (for commands that name a function) --input-set A|B: where a request's
/// input comes from (empty when none is given).
/// </summary>
public sealed class InputOptions
{
    private readonly Argument<string>? _function;

    /// <summary>Without a function argument: --input and --input-text only.</summary>
    public InputOptions() { }

    /// <summary>With the command's function argument, whose built-in inputs --input-set picks from.</summary>
    public InputOptions(Argument<string> function)
    {
        ArgumentNullException.ThrowIfNull(function);
        _function = function;
    }

    public Option<FileInfo?> File { get; } = new("--input") { Description = "read the request's input from FILE" };

    public Option<string?> Text { get; } = new("--input-text") { Description = "use TEXT as the request's input" };

    public Option<string?> Set { get; } = new("--input-set") { Description = "use the function's built-in input A or B (see `snapfn inputs`)", HelpName = "A|B" };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(File);
        command.Options.Add(Text);
        if (_function is not null)
            command.Options.Add(Set);
    }

    public byte[] Read(ParseResult parse)
    {
        var input = ReadAny(parse);
        // The VMM refuses a larger input as a bad argument; here it is the user's, said in the CLI's terms.
        if ((ulong)input.Length > Vmm.GuestLayout.IoBufferSize)
            throw new UsageException($"the input is {input.Length} bytes; a function takes at most {Vmm.GuestLayout.IoBufferSize >> 20} MiB");
        return input;
    }

    private byte[] ReadAny(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var file = parse.GetValue(File);
        var text = parse.GetValue(Text);
        var set = _function is null ? null : parse.GetValue(Set);
        if ((file is not null ? 1 : 0) + (text is not null ? 1 : 0) + (set is not null ? 1 : 0) > 1)
            throw new UsageException(_function is null
                ? "give either --input or --input-text, not both"
                : "give one of --input, --input-text and --input-set, not several");
        if (set is not null)
            return BuiltIn(parse.GetValue(_function!)!, ParseSet(set));
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

    /// <summary>A or B (either case) as an <see cref="InputSet"/>.</summary>
    public static InputSet ParseSet(string value) => value.ToUpperInvariant() switch
    {
        "A" => InputSet.A,
        "B" => InputSet.B,
        _ => throw new UsageException($"unknown input set '{value}': the built-in inputs are A and B"),
    };

    /// <summary>A function's built-in input, or a usage error naming the functions that have them.</summary>
    public static byte[] BuiltIn(string function, InputSet set)
    {
        var catalog = FunctionCatalog.Default();
        if (!WorkloadInputs.Has(catalog, function))
            throw new UsageException($"function '{function}' has no built-in inputs (they exist for {string.Join(", ", WorkloadInputs.Functions)}); give its input with --input FILE or --input-text TEXT");
        return WorkloadInputs.Get(catalog, function, set);
    }
}
