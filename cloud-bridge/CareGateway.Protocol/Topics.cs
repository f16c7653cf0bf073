namespace CareGateway.Protocol;

/// <summary>
/// The topic tree, protocol version 1: everything about one gateway lives under <c>care/v1/{gatewayId}/</c>,
/// so that a broker ACL can confine each gateway to its own subtree.
/// </summary>
public static class Topics
{
    public const string Root = "care/v1";

    /// <summary>Gateway -> centre, QoS 1, not retained.</summary>
    public const string AlarmLeaf = "alarm";
    /// <summary>Centre -> gateway, QoS 1, not retained.</summary>
    public const string AckLeaf = "ack";
    /// <summary>Gateway -> centre, QoS 1, retained; the MQTT last will sets it to offline.</summary>
    public const string StatusLeaf = "status";
    /// <summary>Gateway -> centre, QoS 0, not retained.</summary>
    public const string HeartbeatLeaf = "heartbeat";
    /// <summary>Centre -> gateway, QoS 0, not retained: the answer to each heartbeat.</summary>
    public const string HeartbeatAckLeaf = "heartbeat-ack";

    public static string Alarm(string gatewayId) => $"{Prefix(gatewayId)}/{AlarmLeaf}";
    public static string Ack(string gatewayId) => $"{Prefix(gatewayId)}/{AckLeaf}";
    public static string Status(string gatewayId) => $"{Prefix(gatewayId)}/{StatusLeaf}";
    public static string Heartbeat(string gatewayId) => $"{Prefix(gatewayId)}/{HeartbeatLeaf}";
    public static string HeartbeatAck(string gatewayId) => $"{Prefix(gatewayId)}/{HeartbeatAckLeaf}";

    /// <summary>Gateway -> centre, QoS 1, retained: <c>care/v1/{gatewayId}/sensors/{sensorId}</c>, one sensor's state and health.</summary>
    public const string SensorsLeaf = "sensors";

    public static string Sensor(string gatewayId, string sensorId)
    {
        GatewayId.ThrowIfInvalid(sensorId);
        return $"{Prefix(gatewayId)}/{SensorsLeaf}/{sensorId}";
    }

    /// <summary>Subscription filter for the centre: one leaf of every gateway.</summary>
    public static string AllGateways(string leaf) => $"{Root}/+/{leaf}";

    public static string Prefix(string gatewayId)
    {
        GatewayId.ThrowIfInvalid(gatewayId);
        return $"{Root}/{gatewayId}";
    }

    /// <summary>Splits <c>care/v1/{gatewayId}/{leaf...}</c>; false for anything else.</summary>
    public static bool TryParse(string topic, out string gatewayId, out string leaf)
    {
        gatewayId = leaf = string.Empty;
        if (!topic.StartsWith(Root + "/", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = topic.AsSpan(Root.Length + 1);
        var slash = rest.IndexOf('/');
        if (slash <= 0 || slash == rest.Length - 1)
        {
            return false;
        }

        gatewayId = rest[..slash].ToString();
        leaf = rest[(slash + 1)..].ToString();
        return GatewayId.IsValid(gatewayId);
    }
}

/// <summary>Gateway ids are topic segments: 1-64 characters of a-z, 0-9 and '-', no MQTT wildcards.</summary>
public static class GatewayId
{
    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 64 && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    public static void ThrowIfInvalid(string? id)
    {
        if (!IsValid(id))
        {
            throw new ArgumentException($"Gateway id '{id}' is not valid: use 1-64 characters of a-z, 0-9 and '-'.", nameof(id));
        }
    }
}
