using CareGateway.Uplink;
using CareGateway.Uplink.IotHub;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// The <c>iotHub</c> section: reach the centre through Azure IoT Hub instead of its own broker (docs/iot-hub.md).
/// Authentication is a device key (SAS tokens) or an X.509 certificate, never both.
/// </summary>
public sealed record IotHubConfig
{
    /// <summary>The hub's host name, for example <c>care-hub.azure-devices.net</c>.</summary>
    public string HostName { get; set; } = string.Empty;

    /// <summary>The device id registered in the hub; empty means the gateway id.</summary>
    public string DeviceId { get; set; } = string.Empty;

    /// <summary>File holding the device's primary key (base64, owner-only permissions); the key is never in the config.</summary>
    public string? SharedAccessKeyFile { get; set; }

    /// <summary>PEM client certificate for X.509 authentication.</summary>
    public string? CertFile { get; set; }

    /// <summary>PEM private key for <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>PEM file of CAs to trust for the hub; absent uses the system's trust store (DigiCert Global Root G2 for Azure).</summary>
    public string? CaFile { get; set; }

    public int Port { get; set; } = 8883;

    /// <summary>Lifetime of each SAS token; the gateway reconnects with a fresh one after 80 % of it.</summary>
    public int TokenLifetimeMinutes { get; set; } = 60;
}

public static partial class ConfigLoader
{
    private static void ValidateIotHub(IotHubConfig? hub, List<string> errors)
    {
        if (hub is null)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(hub.HostName) || hub.HostName.Any(c => c is '/' or ' ' or '#' or '+'))
        {
            errors.Add($"$.iotHub.hostName: '{hub.HostName}' must name the hub, for example care-hub.azure-devices.net");
        }

        if (hub.DeviceId.Length > 0 && !IotHubOptions.IsValidDeviceId(hub.DeviceId))
        {
            errors.Add($"$.iotHub.deviceId: '{hub.DeviceId}' is not valid: use 1-128 characters of letters, digits, '-', '.' and '_'");
        }

        var sas = !string.IsNullOrWhiteSpace(hub.SharedAccessKeyFile);
        var x509 = !string.IsNullOrWhiteSpace(hub.CertFile) || !string.IsNullOrWhiteSpace(hub.KeyFile);
        if (sas == x509)
        {
            errors.Add("$.iotHub: name either sharedAccessKeyFile (SAS tokens) or certFile and keyFile (X.509), not both and not neither");
        }
        else if (x509 && (string.IsNullOrWhiteSpace(hub.CertFile) || string.IsNullOrWhiteSpace(hub.KeyFile)))
        {
            errors.Add($"$.iotHub.{(string.IsNullOrWhiteSpace(hub.CertFile) ? "certFile" : "keyFile")}: X.509 authentication needs both certFile and keyFile");
        }

        if (hub.Port is < 1 or > 65535)
        {
            errors.Add($"$.iotHub.port: {hub.Port} is not a TCP port");
        }

        if (hub.TokenLifetimeMinutes is < 5 or > 24 * 60)
        {
            errors.Add($"$.iotHub.tokenLifetimeMinutes: {hub.TokenLifetimeMinutes} is outside 5-1440 minutes");
        }
    }
}

public sealed partial class GatewayRuntime
{
    /// <summary>The IoT Hub uplink the configuration describes; reads the device key file here (its content is never logged).</summary>
    internal static IotHubOptions ToIotHubOptions(GatewayConfig config, string? sharedAccessKey)
    {
        ArgumentNullException.ThrowIfNull(config);
        var hub = config.IotHub ?? throw new InvalidOperationException("The configuration names no IoT Hub.");
        return new IotHubOptions
        {
            GatewayId = config.GatewayId,
            HostName = hub.HostName,
            DeviceId = hub.DeviceId.Length > 0 ? hub.DeviceId : config.GatewayId,
            SharedAccessKey = sharedAccessKey,
            CertFile = hub.CertFile,
            KeyFile = hub.KeyFile,
            CaFile = hub.CaFile,
            Port = hub.Port,
            TokenLifetime = TimeSpan.FromMinutes(hub.TokenLifetimeMinutes),
            HeartbeatInterval = TimeSpan.FromSeconds(config.Broker.HeartbeatSeconds),
            ResendAfter = TimeSpan.FromSeconds(config.Broker.ResendAfterSeconds),
            ReconnectMin = TimeSpan.FromMilliseconds(config.Broker.ReconnectMinMilliseconds),
            ReconnectMax = TimeSpan.FromMilliseconds(config.Broker.ReconnectMaxMilliseconds),
            SoftwareVersion = SoftwareVersion,
        };
    }

    private static IotHubTransport CreateIotHubTransport(GatewayConfig config, TimeProvider time, ILoggerFactory logs)
    {
        string? key = null;
        if (config.IotHub!.SharedAccessKeyFile is { } keyFile)
        {
            try
            {
                key = File.ReadAllText(keyFile).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException(keyFile, [$"$.iotHub.sharedAccessKeyFile: cannot read the device key: {ex.Message}"]);
            }
        }

        return new IotHubTransport(ToIotHubOptions(config, key), time, logs.CreateLogger("iot-hub"));
    }
}
