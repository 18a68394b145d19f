using System.Globalization;
using System.Text;

namespace Snapfn.Bench.Cluster;

/// <summary>One sample of Prometheus's text exposition format: a metric name, its labels and its value.</summary>
public sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>Reads the samples of a <c>/metrics</c> page (the text format prometheus-net writes): comments and
/// lines it cannot read are skipped, so that a metric added later never breaks the bench.</summary>
public static class PrometheusText
{
    public static IReadOnlyList<MetricSample> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var samples = new List<MetricSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            if (TryParse(line) is { } sample)
                samples.Add(sample);
        }
        return samples;
    }

    private static MetricSample? TryParse(string line)
    {
        var nameEnd = line.IndexOfAny(['{', ' ']);
        if (nameEnd <= 0)
            return null;
        var name = line[..nameEnd];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = nameEnd;
        if (line[i] == '{')
        {
            i++;
            while (i < line.Length && line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
                    return null;
                var key = line[i..eq].Trim();
                var value = new StringBuilder();
                i = eq + 2;
                for (; i < line.Length && line[i] != '"'; i++)
                {
                    if (line[i] == '\\' && i + 1 < line.Length)
                    {
                        i++;
                        value.Append(line[i] == 'n' ? '\n' : line[i]);
                    }
                    else
                    {
                        value.Append(line[i]);
                    }
                }
                if (i >= line.Length)
                    return null;
                labels[key] = value.ToString();
                i++;
                if (i < line.Length && line[i] == ',')
                    i++;
            }
            if (i >= line.Length)
                return null;
            i++;
        }
        var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length == 0)
            return null;
        var number = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
            _ => (double?)null,
        };
        return number is { } n ? new MetricSample(name, labels, n) : null;
    }
}
