namespace Snapfn.Bench.Experiments;

/// <summary>What an experiment's report writes into its results folder: results.json, report.md and its charts.</summary>
public interface IExperimentReport
{
    void WriteJson(string path, string commandLine, bool interrupted, int repeat);

    string Markdown(string commandLine, bool interrupted, int repeat);

    void WriteCharts(string folder);
}

/// <summary>Writes a report's three kinds of file into one folder.</summary>
public static class ExperimentOutput
{
    /// <summary>Writes results.json, report.md and the charts into <paramref name="folder"/>; returns results.json's path.</summary>
    public static string Write(IExperimentReport report, string folder, string commandLine, bool partial, int repeat)
    {
        ArgumentNullException.ThrowIfNull(report);
        var results = Path.Combine(folder, "results.json");
        report.WriteJson(results, commandLine, partial, repeat);
        File.WriteAllText(Path.Combine(folder, "report.md"), report.Markdown(commandLine, partial, repeat));
        report.WriteCharts(folder);
        return results;
    }
}
