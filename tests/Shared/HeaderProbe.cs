using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Snapfn.Tests;

/// <summary>
/// Evaluates C expressions (constants, sizeof, offsetof) against the machine's real headers: compiles one small
/// program with gcc and reads its answers, so that the C# side's layouts are checked, not trusted.
/// </summary>
public static class HeaderProbe
{
    /// <summary>Each expression's value, after <paramref name="prelude"/> (the #includes and any declarations).</summary>
    public static Dictionary<string, ulong> Evaluate(string prelude, IEnumerable<string> expressions)
    {
        ArgumentNullException.ThrowIfNull(expressions);
        var dir = Directory.CreateTempSubdirectory("snapfn-headers-");
        try
        {
            var source = new StringBuilder(prelude).Append("\nint main(void) {\n");
            foreach (var expression in expressions)
                source.Append(CultureInfo.InvariantCulture, $"    printf(\"%s\\t%llu\\n\", \"{expression}\", (unsigned long long)({expression}));\n");
            source.Append("    return 0;\n}\n");
            var c = Path.Combine(dir.FullName, "probe.c");
            var exe = Path.Combine(dir.FullName, "probe");
            File.WriteAllText(c, source.ToString());
            Run("gcc", $"-o {exe} {c}");
            return Run(exe, "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('\t'))
                .ToDictionary(p => p[0], p => ulong.Parse(p[1], CultureInfo.InvariantCulture));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Run(string program, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} failed: {error}");
        return output;
    }
}
