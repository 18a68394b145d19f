using System.Diagnostics;
using System.Globalization;
using Snapfn.Fuzz;

// snapfn-fuzz: one entry point for every fuzz target (see fuzz/README.md; `scripts/fuzz` drives it under afl-fuzz).
//   snapfn-fuzz list
//   snapfn-fuzz TARGET                       under afl-fuzz: SharpFuzz's persistent loop; else one input from stdin
//   snapfn-fuzz TARGET --seeds DIR           writes the seed inputs the project's own writers make
//   snapfn-fuzz TARGET --replay PATH...      runs files (or every file of folders), prints what escaped; exit 1 on a finding
//   snapfn-fuzz TARGET --mutate N --corpus DIR [--seed S] [--save DIR]
//                                            N in-process mutations without AFL; findings saved to DIR
if (args is [] or ["list"] or ["--help"] or ["-h"])
{
    foreach (var name in FuzzTargets.Names)
        Console.WriteLine($"{name,-12} {FuzzTargets.Create(name).Description}");
    return 0;
}
if (!FuzzTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"snapfn-fuzz: no fuzz target '{args[0]}'; the targets are: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}
if (args.Length == 1)
{
    // The harness is made inside the loop: instrumented code (a harness's set-up may call some) must not run
    // before SharpFuzz has attached AFL's shared memory, where it writes its coverage.
    FuzzTarget? fuzzed = null;
    SharpFuzz.Fuzzer.Run(stream =>
    {
        fuzzed ??= FuzzTargets.Create(args[0]);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        fuzzed.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    });
    return 0;
}
var target = FuzzTargets.Create(args[0]);
try
{
    switch (args.Skip(1).ToArray())
    {
        case ["--seeds", var folder]:
            Directory.CreateDirectory(folder);
            foreach (var (name, bytes) in target.Seeds())
                File.WriteAllBytes(Path.Combine(folder, name), bytes);
            return 0;
        case ["--replay", .. var paths]:
            if (target is Snapfn.Fuzz.Targets.SyscallTarget syscalls)
            {
                syscalls.CheckEveryCall = true;
                syscalls.Trace = Environment.GetEnvironmentVariable("SNAPFN_FUZZ_TRACE") == "1";
            }
            var findings = 0;
            foreach (var (name, bytes) in ShortRun.Corpus([.. paths.Where(Directory.Exists)]).Concat(paths.Where(File.Exists).Select(p => (p, File.ReadAllBytes(p)))))
            {
                if (ShortRun.RunOne(target, bytes) is { } e)
                {
                    findings++;
                    Console.WriteLine($"FINDING {name}:\n{e}\n");
                }
                else
                {
                    Console.WriteLine($"ok      {name}");
                }
            }
            return findings == 0 ? 0 : 1;
        case ["--mutate", var count, .. var rest]:
            return Mutate(target, int.Parse(count, CultureInfo.InvariantCulture), rest);
        default:
            Console.Error.WriteLine("snapfn-fuzz: usage: snapfn-fuzz TARGET [--seeds DIR | --replay PATH... | --mutate N --corpus DIR [--seed S] [--save DIR]]");
            return 2;
    }
}
finally
{
    (target as IDisposable)?.Dispose();
}

static int Mutate(FuzzTarget target, int count, string[] rest)
{
    string? Option(string name) => Array.IndexOf(rest, name) is var i and >= 0 && i + 1 < rest.Length ? rest[i + 1] : null;
    var corpus = ShortRun.Corpus(Option("--corpus") ?? Path.Combine("fuzz", "corpus", target.Name));
    var seed = int.Parse(Option("--seed") ?? "1", CultureInfo.InvariantCulture);
    var save = Option("--save");
    var clock = Stopwatch.StartNew();
    var findings = ShortRun.Run(target, corpus, count, seed);
    var seconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"{target.Name}: {corpus.Count + count} inputs in {seconds:F1} s ({(corpus.Count + count) / seconds:F0}/s), {findings.Count} findings");
    foreach (var group in findings.GroupBy(f => f.Exception.GetType().Name + ": " + f.Exception.Message.Split('\n')[0]))
    {
        var first = group.First();
        Console.WriteLine($"  {group.Count()}x {group.Key}\n    first: {first.From}\n{first.Exception.StackTrace}");
        if (save is not null)
        {
            Directory.CreateDirectory(save);
            File.WriteAllBytes(Path.Combine(save, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(first.Input))[..16]), first.Input);
        }
    }
    return findings.Count == 0 ? 0 : 1;
}
