namespace Snapfn.Fuzz;

/// <summary>A finding: the input and what escaped the harness.</summary>
public sealed record Finding(byte[] Input, Exception Exception, string From);

/// <summary>
/// Runs a target in-process without AFL: every input of a corpus, then mutations of them. What the tests run
/// (a few thousand inputs a target, in seconds) and what `snapfn-fuzz TARGET --mutate N` runs.
/// </summary>
public static class ShortRun
{
    /// <summary>The files of <paramref name="folders"/> that exist, in name order.</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> Corpus(params string[] folders) =>
        [.. folders.Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFiles(folder).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal)
            .Select(path => (path, File.ReadAllBytes(path)))];

    /// <summary>Runs one input; the exception that escaped, else null.</summary>
    public static Exception? RunOne(FuzzTarget target, byte[] input)
    {
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            target.Run(input);
            return null;
        }
#pragma warning disable CA1031 // anything that escapes the harness is the finding being looked for
        catch (Exception e)
#pragma warning restore CA1031
        {
            return e;
        }
    }

    /// <summary>Replays <paramref name="corpus"/>, then <paramref name="mutations"/> mutations of it; returns the findings.</summary>
    public static IReadOnlyList<Finding> Run(FuzzTarget target, IReadOnlyList<(string Name, byte[] Bytes)> corpus, int mutations, int seed)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var findings = new List<Finding>();
        foreach (var (name, bytes) in corpus)
        {
            if (RunOne(target, bytes) is { } e)
                findings.Add(new Finding(bytes, e, name));
        }
        if (corpus.Count == 0)
            return findings;
        var mutator = new Mutator(seed);
        var random = new Random(seed);
        for (var i = 0; i < mutations; i++)
        {
            var (name, bytes) = corpus[random.Next(corpus.Count)];
            var input = mutator.Mutate(bytes, corpus[random.Next(corpus.Count)].Bytes);
            if (RunOne(target, input) is { } e)
                findings.Add(new Finding(input, e, $"mutation {i} of {name} (seed {seed})"));
        }
        return findings;
    }
}
