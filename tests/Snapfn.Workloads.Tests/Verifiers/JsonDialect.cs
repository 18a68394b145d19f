using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Snapfn.Workloads.Tests.Verifiers;

/// <summary>
/// The walk json and py-json are checked by: the same tree and a compact rewrite byte for byte. What an object's
/// members are and how numbers compare and print are the rules in which the two functions differ, so each is a
/// dialect (<see cref="WorkloadJson"/>, <see cref="Python.PythonJson"/>) that fills in those three.
/// </summary>
public abstract class JsonDialect
{
    /// <summary>The members an object keeps, in the order they are written back.</summary>
    protected abstract IReadOnlyList<(string Name, JsonElement Value)> Members(JsonElement value);

    protected abstract void AssertSameNumber(JsonElement expected, JsonElement actual, string path);

    protected abstract string Number(JsonElement value);

    /// <summary>Same tree: kinds, the kept members' names and order, strings, and numbers as the dialect has it.</summary>
    public void AssertSameValue(JsonElement expected, JsonElement actual) => AssertSameValue(expected, actual, "$");

    /// <summary>No whitespace, the kept members, numbers as the dialect prints them.</summary>
    public string Compact(JsonElement value)
    {
        var text = new StringBuilder();
        Compact(value, text);
        return text.ToString();
    }

    private void AssertSameValue(JsonElement expected, JsonElement actual, string path)
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{path}: {actual.ValueKind}, expected {expected.ValueKind}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var e = Members(expected);
                var a = actual.EnumerateObject().ToList();
                Assert.True(e.Count == a.Count, $"{path}: {a.Count} members, expected {e.Count}");
                for (var i = 0; i < e.Count; i++)
                {
                    Assert.True(e[i].Name == a[i].Name, $"{path}: member {i} is '{a[i].Name}', expected '{e[i].Name}'");
                    AssertSameValue(e[i].Value, a[i].Value, $"{path}.{e[i].Name}");
                }
                break;
            case JsonValueKind.Array:
                Assert.True(expected.GetArrayLength() == actual.GetArrayLength(), $"{path}: array length");
                for (var i = 0; i < expected.GetArrayLength(); i++)
                    AssertSameValue(expected[i], actual[i], $"{path}[{i}]");
                break;
            case JsonValueKind.String:
                Assert.True(expected.GetString() == actual.GetString(), $"{path}: '{actual.GetString()}', expected '{expected.GetString()}'");
                break;
            case JsonValueKind.Number:
                AssertSameNumber(expected, actual, path);
                break;
            default:
                break;
        }
    }

    private void Compact(JsonElement value, StringBuilder text)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var members = Members(value);
                for (var i = 0; i < members.Count; i++)
                {
                    if (i > 0)
                        text.Append(',');
                    CompactString(members[i].Name, text);
                    text.Append(':');
                    Compact(members[i].Value, text);
                }
                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first)
                        text.Append(',');
                    first = false;
                    Compact(item, text);
                }
                text.Append(']');
                break;
            case JsonValueKind.String:
                CompactString(value.GetString()!, text);
                break;
            case JsonValueKind.Number:
                text.Append(Number(value));
                break;
            default:
                text.Append(value.GetRawText()); // true, false, null
                break;
        }
    }

    /// <summary>
    /// WORKLOADS.md's minimal escapes, which are also Python's encoder with ensure_ascii=False: these seven, lowercase
    /// \u00xx for the other controls below U+0020, everything else raw.
    /// </summary>
    private static void CompactString(string s, StringBuilder text)
    {
        text.Append('"');
        foreach (var c in s)
        {
            text.Append(c switch
            {
                '"' => "\\\"",
                '\\' => @"\\",
                '\b' => @"\b",
                '\f' => @"\f",
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                < ' ' => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }
        text.Append('"');
    }
}
