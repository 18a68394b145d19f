using System.Globalization;
using System.Text;

namespace Snapfn.Bench.Inputs;

/// <summary>
/// JSON documents shaped like an API's response (pretty-printed records with names in many scripts, escapes of
/// every kind, surrogate pairs, numbers in every form the grammar allows, nesting): json's inputs (A 13 355
/// bytes, B 148 291) and compression's input B. A port of document() in guest/tests/workloads/make_inputs.py,
/// draw for draw, so its bytes equal the files committed for the native tests.
/// </summary>
public static class JsonDocumentInputs
{
    private static readonly string[] _names =
    [
        "Ada", "Grace", "Edsger", "Barbara", "Ken", "Dennis", "Zoë", "Jürgen", "François", "Łukasz",
        "Søren", "Ἀριστοτέλης", "李白", "山田太郎", "Ольга", "محمد",
    ];

    private static readonly string[] _tags =
    [
        "alpha", "beta", "gamma", "snap", "fn", "vm", "a/b", "quote\"d", "back\\slash", "tab\tbed",
        "new\nline", "emoji 😀", "music 𝄞", "ctl\u0001x", "bell\u0007", "euro €",
    ];

    private static readonly string[] _booleans = ["true", "false"];

    private const string Nested = """[[], {}, [[1, [2, [3, {"deep": [true, false, null]}]]]]]""";

    public static byte[] Json(InputSet set) => set == InputSet.A ? Json(13000, 11) : Json(148000, 12);

    /// <summary>A document of <paramref name="targetBytes"/> bytes or a little more (up to one record, under 1 KB),
    /// drawn from <paramref name="seed"/>.</summary>
    public static byte[] Json(int targetBytes, ulong seed) => Encoding.UTF8.GetBytes(Document(new XorShift64Star(seed), targetBytes));

    /// <summary>Records until the document reaches <paramref name="target"/> bytes (it ends a little past it).</summary>
    internal static string Document(XorShift64Star rng, int target)
    {
        var records = new List<string>();
        var size = 0;
        for (var i = 0; size < target; i++)
        {
            var record = Record(rng, i, 4);
            records.Add(record);
            size += Encoding.UTF8.GetByteCount(record) + 2;
        }
        return "{\n  \"kind\": \"snapfn.users\",\n  \"version\": 2,\n  \"items\": [\n" + string.Join(",\n", records) + "\n  ]\n}\n";
    }

    // Every draw below happens in the order Python evaluates make_inputs.py's expressions: left to right, the
    // argument of pick() before pick() itself.
    private static string Record(XorShift64Star rng, int id, int indent)
    {
        var pad = new string(' ', indent);
        var inner = new string(' ', indent + 2);
        var tags = string.Join(", ", Repeat(rng.Below(5), () => JsonString(rng, rng.Pick(_tags))));
        var scores = string.Join(", ", Repeat(rng.Below(6), () => Number(rng)));
        var first = rng.Pick(_names);
        var name = JsonString(rng, first + " " + rng.Pick(_names));
        var email = JsonString(rng, Invariant($"user{rng.Below(100000)}@example.org"));
        var active = rng.Pick(_booleans);
        var manager = rng.Below(id + 1).ToString(CultureInfo.InvariantCulture);
        manager = rng.Below(2) == 0 ? "null" : manager;
        var houseNumber = rng.Below(999);
        var street = JsonString(rng, Invariant($"{houseNumber} {rng.Pick(_names)} Street"));
        var zip = JsonString(rng, Invariant($"{rng.Below(99999):D5}"));
        var lat = Number(rng);
        var lon = Number(rng);
        var noteLength = 10 + rng.Below(60);
        var note = JsonString(rng, TextInputs.Text(rng, noteLength));
        var nested = rng.Below(4) == 0 ? Nested : "{}";
        string[] fields =
        [
            Invariant($"\"id\": {id}"),
            $"\"name\": {name}",
            $"\"email\": {email}",
            $"\"active\": {active}",
            $"\"manager\": {manager}",
            $"\"tags\": [{tags}]",
            $"\"scores\": [{scores}]",
            $"\"address\": {{\"street\": {street}, \"zip\": {zip}, \"geo\": {{\"lat\": {lat}, \"lon\": {lon}}}}}",
            $"\"note\": {note}",
            $"\"nested\": {nested}",
        ];
        return pad + "{\n" + string.Join(",\n", fields.Select(f => inner + f)) + "\n" + pad + "}";
    }

    /// <summary>s as a JSON string, choosing among its legal spellings so that a parser meets every kind.</summary>
    private static string JsonString(XorShift64Star rng, string s)
    {
        var text = new StringBuilder("\"");
        foreach (var rune in s.EnumerateRunes())
        {
            var cp = rune.Value;
            var r = rng.Below(8);
            switch (cp)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append(@"\\");
                    break;
                case '/':
                    text.Append(r < 4 ? @"\/" : "/");
                    break;
                case '\b':
                    text.Append(@"\b");
                    break;
                case '\f':
                    text.Append(@"\f");
                    break;
                case '\n':
                    text.Append(@"\n");
                    break;
                case '\r':
                    text.Append(@"\r");
                    break;
                case '\t':
                    text.Append(@"\t");
                    break;
                case < 0x20:
                    text.Append(Invariant($"\\u{cp:x4}"));
                    break;
                case >= 0x10000 when r < 5:
                    var v = cp - 0x10000;
                    text.Append(Invariant($"\\u{0xD800 + (v >> 10):X4}\\u{0xDC00 + (v & 0x3FF):x4}"));
                    break;
                case >= 0x80 when r < 3:
                    text.Append(Invariant($"\\u{cp:x4}"));
                    break;
                case < 0x80 when char.IsAsciiLetter((char)cp) && rng.Below(64) == 0:
                    text.Append(Invariant($"\\u{cp:X4}"));
                    break;
                default:
                    text.Append(rune.ToString());
                    break;
            }
        }
        return text.Append('"').ToString();
    }

    private static string Number(XorShift64Star rng)
    {
        switch (rng.Below(6))
        {
            case 0:
                return Invariant($"{rng.Below(1000000) - 500000}");
            case 1:
                var whole = rng.Below(1000);
                return Invariant($"{whole}.{rng.Below(1000):D3}");
            case 2:
                var digit = 1 + rng.Below(9);
                var fraction = rng.Below(100);
                return Invariant($"-{digit}.{fraction}e{rng.Below(30) - 15}");
            case 3:
                var mantissa = 1 + rng.Below(9);
                return Invariant($"{mantissa}E+{rng.Below(10)}");
            case 4:
                return "0";
            default:
                return Invariant($"{rng.Below(100)}.5");
        }
    }

    private static List<string> Repeat(int count, Func<string> item)
    {
        var items = new List<string>(count);
        for (var i = 0; i < count; i++)
            items.Add(item());
        return items;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
