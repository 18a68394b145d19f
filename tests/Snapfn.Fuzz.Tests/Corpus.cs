namespace Snapfn.Fuzz.Tests;

/// <summary>The kept corpus, fuzz/corpus in the checkout.</summary>
internal static class Corpus
{
    private static readonly string _root = FindRoot();

    public static string Folder(string target) => Path.Combine(_root, target);

    /// <summary>Crashes found and fixed: every target's but the system-call layer's, whose are still open.</summary>
    public static string FixedCrashes(string target) => Path.Combine(_root, "crashes", target);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var corpus = Path.Combine(dir.FullName, "fuzz", "corpus");
            if (File.Exists(Path.Combine(dir.FullName, "Snapfn.slnx")) && Directory.Exists(corpus))
                return corpus;
        }
        throw new DirectoryNotFoundException($"no fuzz/corpus above {AppContext.BaseDirectory}: run the tests from a Snapfn checkout");
    }
}
