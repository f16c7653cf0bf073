using System.Xml.Linq;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// Data Protection's key ring in the centre's database (<c>Centre:DataProtection:KeyStore=database</c>): every
/// instance on the database reads and writes the same keys, so a session, a form token or a sealed resident record
/// made by one instance is read by any other. Data Protection calls it rarely (at start, and when a key is due).
/// </summary>
public sealed class DatabaseKeyRepository(ICentreStore store, TimeProvider time) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() =>
        [.. store.DataProtectionKeysAsync(CancellationToken.None).GetAwaiter().GetResult().Select(x => XElement.Parse(x))];

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        store.AddDataProtectionKeyAsync(friendlyName, element.ToString(SaveOptions.DisableFormatting), time.GetUtcNow(), CancellationToken.None).GetAwaiter().GetResult();
    }
}
