using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Snapfn.WebConsole;

/// <summary>
/// Where the keys of the console's antiforgery tokens live: in the daemon's memory only. ASP.NET Core's default
/// writes them unencrypted to ~/.aspnet/DataProtection-Keys; nothing the console protects outlives the daemon (its
/// sessions are in memory too), so a restart making new keys only makes an old form fail with a clear 400.
/// </summary>
internal sealed class MemoryKeyRepository : IXmlRepository
{
    private readonly List<XElement> _elements = [];
    private readonly Lock _lock = new();

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock)
            return _elements.Select(e => new XElement(e)).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        lock (_lock)
            _elements.Add(new XElement(element));
    }
}
