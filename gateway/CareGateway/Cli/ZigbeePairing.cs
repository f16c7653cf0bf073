using System.Globalization;
using System.Text.Json;

namespace CareGateway.Cli;

/// <summary>A device that joined and was interviewed by zigbee2mqtt, renamed to its sensor id.</summary>
public sealed record PairedDevice(string IeeeAddress, string FriendlyName, string? Model);

/// <summary>
/// Pairs one Zigbee device through zigbee2mqtt 2.x (its MQTT API on the local broker): opens the join window
/// (<c>{base}/bridge/request/permit_join</c> <c>{"time":N}</c>), waits for <c>bridge/event</c> <c>device_interview</c>
/// <c>successful</c>, closes the window (<c>{"time":0}</c>) and renames the device (<c>bridge/request/device/rename</c>
/// <c>{"from","to"}</c>). Every request waits for its <c>bridge/response/...</c> with <c>"status":"ok"</c>.
/// </summary>
public sealed class ZigbeePairing(LocalMqtt mqtt, string baseTopic, TimeProvider time)
{
    /// <summary>How long zigbee2mqtt has to answer a request.</summary>
    public static TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public async Task<PairedDevice> PairAsync(string newName, TimeSpan joinWindow, Action<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        await mqtt.SubscribeAsync($"{baseTopic}/bridge/event", cancellationToken);
        await mqtt.SubscribeAsync($"{baseTopic}/bridge/response/#", cancellationToken);
        var seconds = (int)Math.Clamp(joinWindow.TotalSeconds, 1, 254);
        await RequestAsync("permit_join", string.Create(CultureInfo.InvariantCulture, $$"""{"time":{{seconds}}}"""), cancellationToken);
        progress(string.Create(CultureInfo.InvariantCulture, $"Join window open for {seconds} s: put the sensor in pairing mode now (see its manual: usually hold its button until the LED blinks)."));
        PairedDevice? device = null;
        try
        {
            var eventTopic = $"{baseTopic}/bridge/event";
            var deadline = TimeSpan.FromSeconds(seconds);
            var started = time.GetTimestamp();
            while (device is null)
            {
                var left = deadline - time.GetElapsedTime(started);
                var message = left > TimeSpan.Zero ? await mqtt.WaitForAsync(m => m.Topic == eventTopic && !m.Retained, left, time, cancellationToken) : null;
                if (message is null)
                {
                    throw new CliException(
                        string.Create(CultureInfo.InvariantCulture, $"No device joined within {seconds} s."),
                        "Bring the sensor closer to the Zigbee stick, reset it (see its manual) and run the command again.",
                        ExitCodes.CheckFailed);
                }

                device = ReadEvent(message, progress);
            }
        }
        finally
        {
            // Close the window whatever happened: an open network lets any device in.
            await RequestAsync("permit_join", """{"time":0}""", CancellationToken.None, mustSucceed: false);
        }

        var rename = JsonSerializer.Serialize(new Dictionary<string, string> { ["from"] = device.IeeeAddress, ["to"] = newName }, CliJsonContext.Default.DictionaryStringString);
        await RequestAsync("device/rename", rename, cancellationToken);
        progress($"Renamed {device.IeeeAddress} to '{newName}'.");
        return device with { FriendlyName = newName };
    }

    private static PairedDevice? ReadEvent(MqttMessage message, Action<string> progress)
    {
        try
        {
            using var doc = JsonDocument.Parse(message.Payload);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var ieee = data.TryGetProperty("ieee_address", out var i) ? i.GetString() : null;
            var name = data.TryGetProperty("friendly_name", out var n) ? n.GetString() : ieee;
            switch (type.GetString())
            {
                case "device_joined":
                    progress($"Device {ieee} joined; zigbee2mqtt is interviewing it (keep it awake: press its button now and then).");
                    return null;
                case "device_interview" when data.TryGetProperty("status", out var status):
                    switch (status.GetString())
                    {
                        case "started":
                            progress($"Interviewing {ieee}...");
                            return null;
                        case "failed":
                            throw new CliException($"zigbee2mqtt could not interview device {ieee}.", "Reset the sensor and pair it again, close to the Zigbee stick.", ExitCodes.CheckFailed);
                        case "successful" when ieee is not null:
                            string? model = null;
                            if (data.TryGetProperty("definition", out var def) && def.ValueKind == JsonValueKind.Object)
                            {
                                var vendor = def.TryGetProperty("vendor", out var v) ? v.GetString() : null;
                                var m = def.TryGetProperty("model", out var mm) ? mm.GetString() : null;
                                model = string.Join(' ', new[] { vendor, m }.Where(x => !string.IsNullOrEmpty(x)));
                            }

                            if (data.TryGetProperty("supported", out var supported) && supported.ValueKind == JsonValueKind.False)
                            {
                                throw new CliException($"Device {ieee} is not supported by this zigbee2mqtt.", "Use a sensor model zigbee2mqtt supports (zigbee2mqtt's device list), or update zigbee2mqtt.", ExitCodes.CheckFailed);
                            }

                            return new PairedDevice(ieee, name ?? ieee, model);
                        default:
                            return null;
                    }

                default:
                    return null;
            }
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task RequestAsync(string request, string payload, CancellationToken cancellationToken, bool mustSucceed = true)
    {
        var responseTopic = $"{baseTopic}/bridge/response/{request}";
        await mqtt.PublishAsync($"{baseTopic}/bridge/request/{request}", payload, cancellationToken);
        var response = await mqtt.WaitForAsync(m => m.Topic == responseTopic, ResponseTimeout, time, cancellationToken);
        if (!mustSucceed)
        {
            return;
        }

        if (response is null)
        {
            throw new CliException(
                $"zigbee2mqtt did not answer '{request}' on {baseTopic}/bridge/request/{request}.",
                $"Check that zigbee2mqtt runs ('systemctl status zigbee2mqtt') and uses base topic '{baseTopic}' on the broker in the configuration's zigbee section.",
                ExitCodes.CheckFailed);
        }

        using var doc = JsonDocument.Parse(response.Payload);
        var root = doc.RootElement;
        if (!root.TryGetProperty("status", out var status) || status.GetString() != "ok")
        {
            var error = root.TryGetProperty("error", out var e) ? e.GetString() : response.Text;
            throw new CliException($"zigbee2mqtt refused '{request}': {error}", "See 'journalctl -u zigbee2mqtt' for the reason.", ExitCodes.CheckFailed);
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class CliJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
