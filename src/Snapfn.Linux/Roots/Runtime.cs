namespace Snapfn.Linux.Roots;

/// <summary>A named set of Debian packages that functions run on, such as <c>python</c> = python3 or <c>node</c> = nodejs.</summary>
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

    /// <summary>Debian's own Node.js (bookworm: 18.x), never a host's or another vendor's build.</summary>
    public static Runtime Node { get; } = new("node", ["nodejs"]);

    public static IReadOnlyList<Runtime> All { get; } = [Python, Node];

    public static Runtime? Find(string name) => All.FirstOrDefault(r => r.Name == name);
}
