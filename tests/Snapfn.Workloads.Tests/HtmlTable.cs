using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Snapfn.Workloads.Tests;

/// <summary>
/// WORKLOADS.md's html: the cells, the title and the exact page, for the checker. py-html's README.md keeps the
/// alphabet, the title and the page layout, and has its own cell rule and escaping (Chameleon leaves quotes).
/// </summary>
public static partial class HtmlTable
{
    public const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 &<>\"'";

    public static string Cell(ulong seed, long row, long column)
    {
        var rng = new SpecRng(SpecRng.Mix64((seed << 42) ^ ((ulong)row << 21) ^ (ulong)column));
        var length = 3 + (int)(rng.Next() % 10);
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
            text.Append(Alphabet[(int)(rng.Next() % 68)]);
        return text.ToString();
    }

    public static string Title(int rows, int cols, ulong seed) =>
        string.Create(CultureInfo.InvariantCulture, $"Snapfn table: {rows} rows & {cols} columns, seed {seed}");

    /// <summary>The page layout both suites' html functions write, with the cells and the escaping given.</summary>
    private static string Render(string title, int rows, int cols, Func<int, int, string> cell, Func<string, string> escape)
    {
        var html = new StringBuilder("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
        html.Append(escape(title)).Append("</title>\n</head>\n<body>\n<table>");
        for (var r = 0; r < rows; r++)
        {
            html.Append("\n<tr>");
            for (var c = 0; c < cols; c++)
                html.Append("\n<td>").Append(escape(cell(r, c))).Append("</td>");
            html.Append("\n</tr>");
        }
        return html.Append("\n</table>\n</body>\n</html>\n").ToString();
    }

    /// <summary>An html function's page: parsed back, its title and every row's cells, unescaped, are the ones
    /// given; and byte for byte it is their <see cref="Render"/>.</summary>
    public static void AssertPage(string html, string title, int rows, int cols, Func<int, int, string> cell, Func<string, string> escape)
    {
        Assert.Equal(title, WebUtility.HtmlDecode(TitlePattern().Match(html).Groups[1].Value));
        var parsed = RowPattern().Matches(html)
            .Select(row => CellPattern().Matches(row.Groups[1].Value).Select(c => WebUtility.HtmlDecode(c.Groups[1].Value)).ToList())
            .ToList();
        Assert.Equal(rows, parsed.Count);
        for (var r = 0; r < rows; r++)
        {
            Assert.Equal(cols, parsed[r].Count);
            for (var c = 0; c < cols; c++)
                Assert.True(cell(r, c) == parsed[r][c], $"cell ({r}, {c}): '{parsed[r][c]}'");
        }
        Assert.Equal(Render(title, rows, cols, cell, escape), html);
    }

    /// <summary>WORKLOADS.md's html page for these parameters.</summary>
    public static void AssertPage(string html, int rows, int cols, ulong seed) =>
        AssertPage(html, Title(rows, cols, seed), rows, cols, (r, c) => Cell(seed, r, c), Escape);

    private static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal)
            .Replace("'", "&#39;", StringComparison.Ordinal);

    [GeneratedRegex("<title>(.*)</title>")]
    private static partial Regex TitlePattern();

    [GeneratedRegex("<tr>(.*?)\n</tr>", RegexOptions.Singleline)]
    private static partial Regex RowPattern();

    [GeneratedRegex("<td>(.*?)</td>")]
    private static partial Regex CellPattern();
}
