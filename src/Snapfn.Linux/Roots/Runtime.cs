namespace Snapfn.Linux.Roots;

/// <summary>A named set of Debian packages that functions run on, such as <c>python</c> = python3.</summary>
public sealed class Runtime
{
    public Runtime(string name, IEnumerable<string> packages)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        Key = RootKey.For(packages);
    }

    public string Name { get; }

    /// <summary>The packages as the root is keyed: sorted, without duplicates.</summary>
    public IReadOnlyList<string> Packages => Key.Packages;

    public RootKey Key { get; }

    /// <summary>The runtime with <paramref name="packages"/> added, e.g. python3-numpy for one function.</summary>
    public Runtime With(IEnumerable<string> packages) => new(Name, Packages.Concat(packages));

    public override string ToString() => $"{Name} ({string.Join(", ", Packages)})";
}

/// <summary>The runtimes Snapfn knows by name.</summary>
public static class Runtimes
{
    public static Runtime Python { get; } = new("python", ["python3"]);

    public static IReadOnlyList<Runtime> All { get; } = [Python];

    public static Runtime? Find(string name) => All.FirstOrDefault(r => r.Name == name);
}
