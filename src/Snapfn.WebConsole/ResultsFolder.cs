using Markdig;

namespace Snapfn.WebConsole;

/// <summary>What a path under the results folder names: a report to render, a file to serve, a folder to list.</summary>
public enum ResultKind
{
    Refused,
    Folder,
    Report,
    File,
}

/// <summary>A path under the results folder, resolved; <see cref="Reason"/> says why one is refused.</summary>
public sealed record ResultPath(ResultKind Kind, string Relative, string? FullPath, string? Reason, string? ContentType = null);

/// <summary>
/// The benchmark reports the Results page shows. A path from the URL is resolved inside the folder only: no empty,
/// "." or ".." segment, no backslash or NUL, no hidden file, and no component that is a symbolic link (a link could
/// lead anywhere, so none is followed, not even one pointing inside). Only markdown is rendered and only images,
/// JSON and CSV are served. Raw HTML in a report is shown as text, never run: the console's pages hold a session.
/// </summary>
public sealed class ResultsFolder
{
    private static readonly Dictionary<string, string> _served = new(StringComparer.OrdinalIgnoreCase)
    {
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".svg"] = "image/svg+xml",
        [".json"] = "application/json",
        [".csv"] = "text/csv",
    };

    private static readonly MarkdownPipeline _markdown = new MarkdownPipelineBuilder().UseAdvancedExtensions().DisableHtml().Build();

    public ResultsFolder(string? root) => Root = root is null ? null : Path.GetFullPath(root);

    /// <summary>The folder, or null when there is none to show.</summary>
    public string? Root { get; }

    /// <summary>docs/results of the checkout this program was built in, if it runs from one.</summary>
    public static string? FindDefault(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "results");
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Snapfn.slnx")))
                return candidate;
        }
        return null;
    }

    public ResultPath Resolve(string? path)
    {
        if (Root is null || !Directory.Exists(Root))
            return new ResultPath(ResultKind.Refused, "", null, "there is no results folder: start the daemon with `snapfn serve --results-dir DIR`");
        var relative = path ?? "";
        // The URL's own escapes (%2F, %2e) are undone before the check, so no spelling of ".." passes.
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(relative);
        }
        catch (UriFormatException)
        {
            return Refuse(relative, "the path is not a valid URL path");
        }
        if (decoded.Length > 1024 || decoded.Contains('\\', StringComparison.Ordinal) || decoded.Contains('\0', StringComparison.Ordinal))
            return Refuse(relative, "the path has a backslash or NUL, or is too long");
        var segments = decoded.Length == 0 ? [] : decoded.TrimEnd('/').Split('/');
        var current = Root;
        if (new DirectoryInfo(current).LinkTarget is not null)
            return Refuse(relative, "the results folder itself is a symbolic link: give its real path with --results-dir");
        foreach (var segment in segments)
        {
            if (segment.Length == 0 || segment == "." || segment == ".." || segment.StartsWith('.'))
                return Refuse(relative, $"'{segment}' is not a name in the results folder (no '..', '.', hidden or empty names)");
            current = Path.Combine(current, segment);
            var info = new FileInfo(current);
            if (info.LinkTarget is not null)
                return Refuse(relative, $"'{segment}' is a symbolic link, which the console does not follow");
            if (!info.Exists && !Directory.Exists(current))
                return Refuse(relative, "no such file in the results folder");
        }
        // Belt and braces: the resolved path is still under the root.
        if (!(current == Root || current.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
            return Refuse(relative, "the path leaves the results folder");
        var clean = string.Join('/', segments);
        if (Directory.Exists(current))
            return new ResultPath(ResultKind.Folder, clean, current, null);
        var extension = Path.GetExtension(current);
        if (extension.Equals(".md", StringComparison.OrdinalIgnoreCase))
            return new ResultPath(ResultKind.Report, clean, current, null, "text/html");
        return _served.TryGetValue(extension, out var type)
            ? new ResultPath(ResultKind.File, clean, current, null, type)
            : Refuse(relative, $"the console serves reports (.md) and {string.Join(", ", _served.Keys)} files only");
    }

    /// <summary>The reports and folders directly in a folder (links and hidden names left out), sorted.</summary>
    public static IReadOnlyList<(string Name, bool IsFolder)> List(string folder) =>
        new DirectoryInfo(folder).EnumerateFileSystemInfos()
            .Where(i => i.LinkTarget is null && !i.Name.StartsWith('.'))
            .Where(i => i is DirectoryInfo || i.Extension.Equals(".md", StringComparison.OrdinalIgnoreCase))
            .Select(i => (i.Name, i is DirectoryInfo))
            .OrderBy(i => i.Item2 ? 0 : 1).ThenBy(i => i.Name, StringComparer.Ordinal)
            .Take(500)
            .ToList();

    /// <summary>The images next to a report (a bench writes its charts beside its report.md without linking them), links and
    /// hidden names left out, sorted.</summary>
    public static IReadOnlyList<string> Charts(string report) =>
        new DirectoryInfo(Path.GetDirectoryName(report)!).EnumerateFiles()
            .Where(i => i.LinkTarget is null && !i.Name.StartsWith('.'))
            .Where(i => i.Extension.ToLowerInvariant() is ".png" or ".svg" or ".jpg" or ".jpeg")
            .Select(i => i.Name).Order(StringComparer.Ordinal).Take(50).ToList();

    /// <summary>The report as HTML; its relative links and images resolve against its own URL, so they stay in the folder.</summary>
    public static string Render(string markdown) => Markdown.ToHtml(markdown, _markdown);

    private static ResultPath Refuse(string relative, string reason) => new(ResultKind.Refused, relative, null, reason);
}
