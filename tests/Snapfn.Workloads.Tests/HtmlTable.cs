using System.Globalization;
using System.Text;

namespace Snapfn.Workloads.Tests;

/// <summary>WORKLOADS.md's html: the cells, the title and the exact page, for the checker.</summary>
public static class HtmlTable
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 &<>\"'";

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

    public static string Render(int rows, int cols, ulong seed)
    {
        var html = new StringBuilder("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
        html.Append(Escape(Title(rows, cols, seed))).Append("</title>\n</head>\n<body>\n<table>");
        for (var r = 0; r < rows; r++)
        {
            html.Append("\n<tr>");
            for (var c = 0; c < cols; c++)
                html.Append("\n<td>").Append(Escape(Cell(seed, r, c))).Append("</td>");
            html.Append("\n</tr>");
        }
        return html.Append("\n</table>\n</body>\n</html>\n").ToString();
    }

    private static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal)
            .Replace("'", "&#39;", StringComparison.Ordinal);
}
