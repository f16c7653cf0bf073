using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace CareGateway.Uplink.IotHub;

/// <summary>
/// The topics of Azure IoT Hub's MQTT interface for devices ("Communicate with an IoT hub using the MQTT protocol"), and
/// the property bag that carries message properties in the topic name.
/// </summary>
public static class IotHubTopics
{
    /// <summary>The API version named in the MQTT username.</summary>
    public const string ApiVersion = "2021-04-12";

    public const string MethodsFilter = "$iothub/methods/POST/#";
    public const string TwinResponsesFilter = "$iothub/twin/res/#";
    public const string TwinDesiredFilter = "$iothub/twin/PATCH/properties/desired/#";

    private const string MethodPrefix = "$iothub/methods/POST/";
    private const string TwinResponsePrefix = "$iothub/twin/res/";

    public static string Username(string hostName, string deviceId) => $"{hostName}/{deviceId}/?api-version={ApiVersion}";

    /// <summary>Device-to-cloud: <c>devices/{deviceId}/messages/events/{property bag}</c>.</summary>
    public static string Events(string deviceId, IEnumerable<KeyValuePair<string, string>> properties) =>
        $"devices/{deviceId}/messages/events/{EncodeBag(properties)}";

    /// <summary>Cloud-to-device subscription: <c>devices/{deviceId}/messages/devicebound/#</c>.</summary>
    public static string DeviceBoundFilter(string deviceId) => $"devices/{deviceId}/messages/devicebound/#";

    public static string DeviceBoundPrefix(string deviceId) => $"devices/{deviceId}/messages/devicebound/";

    public static string MethodResponse(int status, string requestId) =>
        string.Create(CultureInfo.InvariantCulture, $"$iothub/methods/res/{status}/?$rid={Uri.EscapeDataString(requestId)}");

    public static string TwinGet(string requestId) => $"$iothub/twin/GET/?$rid={Uri.EscapeDataString(requestId)}";

    public static string TwinReportedPatch(string requestId) => $"$iothub/twin/PATCH/properties/reported/?$rid={Uri.EscapeDataString(requestId)}";

    /// <summary>
    /// Encodes properties as IoT Hub's property bag: <c>key=value</c> pairs joined by <c>&amp;</c>, URL-encoded. System
    /// property names (<c>$.ct</c>, <c>$.ce</c>, <c>$.mid</c>...) are written as they are.
    /// </summary>
    public static string EncodeBag(IEnumerable<KeyValuePair<string, string>> properties) =>
        string.Join('&', properties.Select(p => $"{(p.Key.StartsWith("$.", StringComparison.Ordinal) ? p.Key : Uri.EscapeDataString(p.Key))}={Uri.EscapeDataString(p.Value)}"));

    /// <summary>Decodes a property bag (also the <c>?$rid=..&amp;$version=..</c> tail of twin and method topics).</summary>
    public static Dictionary<string, string> DecodeBag(string bag)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in bag.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            result[key] = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
        }

        return result;
    }

    /// <summary>Splits <c>$iothub/methods/POST/{method}/?$rid={rid}</c>.</summary>
    public static bool TryParseMethod(string topic, [NotNullWhen(true)] out string? method, [NotNullWhen(true)] out string? requestId)
    {
        method = requestId = null;
        if (!topic.StartsWith(MethodPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = topic[MethodPrefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }

        method = rest[..slash];
        return DecodeBag(rest[(slash + 1)..]).TryGetValue("$rid", out requestId);
    }

    /// <summary>Splits <c>$iothub/twin/res/{status}/?$rid={rid}[&amp;$version={v}]</c>.</summary>
    public static bool TryParseTwinResponse(string topic, out int status, [NotNullWhen(true)] out string? requestId)
    {
        status = 0;
        requestId = null;
        if (!topic.StartsWith(TwinResponsePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = topic[TwinResponsePrefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash > 0
            && int.TryParse(rest[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out status)
            && DecodeBag(rest[(slash + 1)..]).TryGetValue("$rid", out requestId);
    }
}
