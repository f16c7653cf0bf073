namespace CareGateway.Uplink.IotHub;

/// <summary>How the gateway reaches the centre through Azure IoT Hub (MQTT 3.1.1 on port 8883, TLS).</summary>
public sealed record IotHubOptions : ForwarderOptions
{

    /// <summary>The hub's host name, for example <c>care-hub.azure-devices.net</c>: in the username and the SAS token.</summary>
    public required string HostName { get; init; }

    /// <summary>The device id registered in the hub: the MQTT client id.</summary>
    public required string DeviceId { get; init; }

    /// <summary>The device's symmetric key (base64, as the portal shows it) for SAS authentication. Never logged.</summary>
    public string? SharedAccessKey { get; init; }

    /// <summary>PEM certificate and key for X.509 authentication (instead of a SAS key).</summary>
    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    /// <summary>PEM file of CAs to trust for the hub's certificate; null uses the system's trust store.</summary>
    public string? CaFile { get; init; }

    /// <summary>Where to connect; defaults to <see cref="HostName"/>. Tests point it at a local broker.</summary>
    public string? ConnectHost { get; init; }

    public int Port { get; init; } = 8883;

    /// <summary>TLS is mandatory on a real hub; only tests against a local plain broker turn it off.</summary>
    public bool UseTls { get; init; } = true;

    /// <summary>How long each SAS token is valid. The hub drops the connection when it expires, so the uplink reconnects with a fresh one after 80 % of it.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromHours(1);

    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(60);


    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first step of the reconnect back-off.</summary>
    public TimeSpan ReconnectMin { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The cap of the reconnect back-off; a large fleet on one hub raises it (docs/operations.md, "Reconnecting").</summary>
    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How many alarms are in flight to the hub at once.</summary>
    public int SendWindow { get; init; } = 8;

    /// <summary>Device ids used here: 1-128 characters of letters, digits, '-', '.' and '_' (a subset of what the hub allows, safe in topics and URLs).</summary>
    public static bool IsValidDeviceId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 128 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');
}
