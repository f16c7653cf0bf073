using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CareGateway.Uplink.IotHub;

/// <summary>
/// Azure IoT Hub shared access signature tokens, as IoT Hub's "Control access with SAS" documentation defines them:
/// <c>SharedAccessSignature sr={URL-encoded resource URI}&amp;sig={URL-encoded base64 HMAC-SHA256}&amp;se={expiry}</c>, where
/// the HMAC key is the base64-decoded device key and the signed string is <c>{URL-encoded resource URI}\n{expiry}</c>
/// (expiry in seconds since 1970-01-01 UTC). The device's resource URI is <c>{hostName}/devices/{deviceId}</c>.
/// </summary>
public static class SasToken
{
    /// <summary>A device token valid until <paramref name="expiry"/> (rounded down to whole seconds).</summary>
    public static string ForDevice(string hostName, string deviceId, byte[] deviceKey, DateTimeOffset expiry) =>
        Create($"{hostName}/devices/{deviceId}", deviceKey, expiry.ToUnixTimeSeconds());

    /// <summary>A token for <paramref name="resourceUri"/> (not yet URL-encoded) signed with <paramref name="key"/> (already base64-decoded).</summary>
    public static string Create(string resourceUri, byte[] key, long expiryUnixSeconds)
    {
        ArgumentException.ThrowIfNullOrEmpty(resourceUri);
        ArgumentNullException.ThrowIfNull(key);
        var encodedResource = Uri.EscapeDataString(resourceUri);
        var expiry = expiryUnixSeconds.ToString(CultureInfo.InvariantCulture);
        var signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{encodedResource}\n{expiry}")));
        return $"SharedAccessSignature sr={encodedResource}&sig={Uri.EscapeDataString(signature)}&se={expiry}";
    }

    /// <summary>Decodes a device key as the Azure portal shows it (base64), with an error that does not repeat the key.</summary>
    public static byte[] DecodeKey(string base64Key)
    {
        try
        {
            var key = Convert.FromBase64String(base64Key.Trim());
            return key.Length > 0 ? key : throw new FormatException("empty");
        }
        catch (FormatException)
        {
            throw new FormatException("The IoT Hub device key is not valid base64 (the key itself is not shown here).");
        }
    }
}
