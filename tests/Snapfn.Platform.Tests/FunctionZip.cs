using System.IO.Compression;

namespace Snapfn.Platform.Tests;

/// <summary>A script function's package (a zip of its folder) made from files given as text.</summary>
public static class FunctionZip
{
    public static byte[] Of(params (string Name, string Content)[] files)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open());
                writer.Write(content);
            }
        }
        return stream.ToArray();
    }
}
