using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Snapfn.Workloads.Tests.Verifiers;

namespace Snapfn.Workloads.Tests.Python;

/// <summary>
/// py-json's rules: json.loads into a dict (a repeated name keeps its first place and its last value), then
/// json.dumps, which prints an integer as Python's int does and a float as its repr. That is not the C suite's
/// number rule (<see cref="WorkloadJson"/> copies the text through): 5e3 comes back as 5000.0 here, so the two
/// stay apart.
/// </summary>
public sealed class PythonJson : JsonDialect
{
    public static PythonJson Rules { get; } = new();

    private PythonJson()
    {
    }

    /// <summary>The members Python's dict keeps: in first-seen order, a repeated name's last value.</summary>
    protected override IReadOnlyList<(string Name, JsonElement Value)> Members(JsonElement value)
    {
        var members = new List<(string Name, JsonElement Value)>();
        foreach (var member in value.EnumerateObject())
        {
            var at = members.FindIndex(m => m.Name == member.Name);
            if (at < 0)
                members.Add((member.Name, member.Value));
            else
                members[at] = (member.Name, member.Value);
        }
        return members;
    }

    /// <summary>Integers exactly, floats as the same double (and still written as a float).</summary>
    protected override void AssertSameNumber(JsonElement expected, JsonElement actual, string path)
    {
        var text = expected.GetRawText();
        if (IsIntegerLiteral(text))
            Assert.True(BigInteger.Parse(text, CultureInfo.InvariantCulture) == BigInteger.Parse(actual.GetRawText(), CultureInfo.InvariantCulture), $"{path}: {actual.GetRawText()}, expected {text}");
        else
            Assert.True(expected.GetDouble() == actual.GetDouble() && !IsIntegerLiteral(actual.GetRawText()), $"{path}: {actual.GetRawText()}, expected the float {text}");
    }

    protected override string Number(JsonElement value)
    {
        var number = value.GetRawText();
        return IsIntegerLiteral(number)
            ? BigInteger.Parse(number, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)
            : FloatRepr(value.GetDouble());
    }

    /// <summary>
    /// CPython's repr of a finite float: the fewest significant digits that read back as the same double (the
    /// correctly rounded ones), then positional when the decimal point position d is in -3..16, else d1.ddde±XX.
    /// </summary>
    public static string FloatRepr(double value)
    {
        if (value == 0)
            return double.IsNegative(value) ? "-0.0" : "0.0";
        var magnitude = Math.Abs(value);
        var scientific = "";
        for (var precision = 1; precision <= 17; precision++)
        {
            scientific = magnitude.ToString("E" + (precision - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            if (double.Parse(scientific, CultureInfo.InvariantCulture) == magnitude)
                break;
        }
        var mark = scientific.IndexOf('E', StringComparison.Ordinal);
        var digits = scientific[..mark].Replace(".", "", StringComparison.Ordinal).TrimEnd('0');
        var point = int.Parse(scientific[(mark + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) + 1;
        string text;
        if (point <= -4 || point > 16)
        {
            var exponent = point - 1;
            text = digits[..1] + (digits.Length > 1 ? "." + digits[1..] : "") + (exponent < 0 ? "e-" : "e+") +
                Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (point <= 0)
            text = "0." + new string('0', -point) + digits;
        else if (point >= digits.Length)
            text = digits + new string('0', point - digits.Length) + ".0";
        else
            text = digits[..point] + "." + digits[point..];
        return value < 0 ? "-" + text : text;
    }

    private static bool IsIntegerLiteral(string number) => number.IndexOfAny(['.', 'e', 'E']) < 0;
}
