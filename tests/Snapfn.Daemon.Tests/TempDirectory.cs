namespace Snapfn.Daemon.Tests;

/// <summary>A fresh folder under /tmp (a short path: Unix socket paths are limited to 108 bytes), deleted afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("snapfn-daemon-").FullName;
    }

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a process that is ending; /tmp is cleaned eventually.
        }
    }
}
