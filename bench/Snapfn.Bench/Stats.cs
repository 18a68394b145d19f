namespace Snapfn.Bench;

/// <summary>The few statistics the report needs.</summary>
public static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
            return double.NaN;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
            return double.NaN;
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static double GeometricMean(IEnumerable<double> values)
    {
        var logs = values.Where(v => v > 0 && double.IsFinite(v)).Select(v => Math.Log(v)).ToArray();
        return logs.Length == 0 ? double.NaN : Math.Exp(logs.Average());
    }
}
