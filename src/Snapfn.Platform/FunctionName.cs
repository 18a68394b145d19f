using System.Text.RegularExpressions;

namespace Snapfn.Platform;

/// <summary>Function names become folder and file names: only lower-case letters, digits and inner dashes.</summary>
public static partial class FunctionName
{
    public static bool IsValid(string name) => name.Length <= 64 && Pattern().IsMatch(name);

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex Pattern();
}
