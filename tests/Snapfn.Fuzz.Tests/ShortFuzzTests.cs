using Snapfn.Fuzz;

namespace Snapfn.Fuzz.Tests;

/// <summary>
/// The short run of every fuzz target, in-process and without AFL: the kept corpus (seeds, and the crashes found
/// and fixed, as regression inputs), then a few thousand mutations of it from a fixed seed. The long,
/// coverage-guided run is `./scripts/fuzz TARGET`.
/// </summary>
public sealed class ShortFuzzTests
{
    public static TheoryData<string> Targets => [.. FuzzTargets.Names];

    /// <summary>Mutations a target; the system-call harness builds a process an input and is slower, the HTTP one
    /// sends two requests an input (~1,000 inputs/s).</summary>
    private static int Mutations(string target) => target switch
    {
        "syscalls" => 400,
        "http-api" => 2000,
        _ => 3000,
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void Corpus_and_mutations_raise_only_the_documented_errors(string name)
    {
        var target = FuzzTargets.Create(name);
        try
        {
            var corpus = ShortRun.Corpus(Corpus.Folder(name), Corpus.FixedCrashes(name));
            Assert.NotEmpty(corpus);
            var findings = ShortRun.Run(target, corpus, Mutations(name), seed: 18);
            Assert.True(findings.Count == 0, Describe(findings));
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }

    /// <summary>Each crash the fuzzer found in a parser, by file: fixed, and kept so that it stays fixed.</summary>
    public static TheoryData<string, string> FixedCrashes => [.. FuzzTargets.Names
        .SelectMany(t => ShortRun.Corpus(Corpus.FixedCrashes(t)).Select(c => (t, Path.GetFileName(c.Name))))];

    [Theory]
    [MemberData(nameof(FixedCrashes))]
    public void A_crash_found_by_fuzzing_stays_fixed(string name, string file)
    {
        var target = FuzzTargets.Create(name);
        try
        {
            var escaped = ShortRun.RunOne(target, File.ReadAllBytes(Path.Combine(Corpus.FixedCrashes(name), file)));
            Assert.True(escaped is null, $"fuzz/corpus/crashes/{name}/{file} crashes again:\n{escaped}");
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void The_seed_corpus_is_what_the_project_writes_today(string name)
    {
        var target = FuzzTargets.Create(name);
        try
        {
            foreach (var (seed, bytes) in target.Seeds())
            {
                var path = Path.Combine(Corpus.Folder(name), seed);
                Assert.True(File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes),
                    $"fuzz/corpus/{name}/{seed} is not what the project writes now (a format changed?): " +
                    $"write it again with `dotnet run --project fuzz/Snapfn.Fuzz -c Release -- {name} --seeds fuzz/corpus/{name}`");
            }
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void A_harness_that_lets_an_exception_escape_is_a_finding()
    {
        var findings = ShortRun.Run(new Throwing(), [("x", [1, 2, 3])], mutations: 10, seed: 1);
        Assert.Equal(11, findings.Count);
        Assert.All(findings, f => Assert.IsType<InvalidCastException>(f.Exception));
    }

    [Fact]
    public void The_mutator_is_deterministic_for_a_seed()
    {
        byte[] input = [.. "{\"runtime\": \"python\"}"u8];
        Assert.Equal(new Mutator(7).Mutate(input, input), new Mutator(7).Mutate(input, input));
    }

    private static string Describe(IReadOnlyList<Finding> findings) => string.Join("\n\n", findings.Take(3).Select(f =>
        $"{f.From}: {Convert.ToHexString(f.Input[..Math.Min(f.Input.Length, 256)])}\n{f.Exception}"));

    private sealed class Throwing : FuzzTarget
    {
        public override string Name => "throwing";

        public override string Description => "throws";

        public override void Run(ReadOnlySpan<byte> input) => throw new InvalidCastException();

        public override IEnumerable<(string Name, byte[] Bytes)> Seeds() => [];
    }
}
