using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.IntegrationTests.Cli;

/// <summary>
/// Plays zigbee2mqtt 2.x on a real broker: answers <c>bridge/request/permit_join</c> and <c>bridge/request/device/rename</c>
/// on <c>bridge/response/...</c> as zigbee2mqtt does, and when the join window opens lets one device join and be
/// interviewed (<c>bridge/event</c> device_joined, device_interview started/successful).
/// </summary>
public sealed class FakeZigbee2Mqtt : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly string _base;

    private FakeZigbee2Mqtt(string baseTopic) => _base = baseTopic;

    /// <summary>Every request received: topic suffix and payload, in order.</summary>
    public ConcurrentQueue<(string Request, string Payload)> Requests { get; } = new();

    /// <summary>The IEEE address of the device that joins when the window opens; null: nobody joins.</summary>
    public string? Joining { get; set; } = "0x00158d0001a2b3c4";

    /// <summary>Refuse the join window with this error (as zigbee2mqtt does when the adapter fails).</summary>
    public string? PermitJoinError { get; set; }

    public static async Task<FakeZigbee2Mqtt> StartAsync(MosquittoBroker broker, string baseTopic = "zigbee2mqtt")
    {
        ArgumentNullException.ThrowIfNull(broker);
        var fake = new FakeZigbee2Mqtt(baseTopic);
        fake._client.ApplicationMessageReceivedAsync += e => fake.OnRequestAsync(e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray()));
        await fake._client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("fake-z2m-" + Guid.NewGuid().ToString("N")).Build());
        await fake._client.SubscribeAsync($"{baseTopic}/bridge/request/#", MqttQualityOfServiceLevel.AtLeastOnce);
        return fake;
    }

    /// <summary>Publishes a device message, as zigbee2mqtt does after a sensor reports.</summary>
    public Task PublishDeviceAsync(string friendlyName, string json) => PublishAsync($"{_base}/{friendlyName}", json);

    private async Task OnRequestAsync(string topic, string payload)
    {
        var request = topic[$"{_base}/bridge/request/".Length..];
        Requests.Enqueue((request, payload));
        using var doc = JsonDocument.Parse(payload);
        var root = doc.RootElement;
        switch (request)
        {
            case "permit_join":
                {
                    // zigbee2mqtt 2.x takes {"time": N}; the 1.x {"value": ...} form is refused.
                    if (!root.TryGetProperty("time", out var time) || root.TryGetProperty("value", out _))
                    {
                        await RespondAsync(request, """{"data":{},"status":"error","error":"Invalid payload"}""");
                        return;
                    }

                    if (PermitJoinError is { } error)
                    {
                        await RespondAsync(request, $$"""{"data":{},"status":"error","error":"{{error}}"}""");
                        return;
                    }

                    await RespondAsync(request, $$"""{"data":{"time":{{time.GetInt32()}}},"status":"ok"}""");
                    if (time.GetInt32() > 0 && Joining is { } ieee)
                    {
                        await PublishAsync($"{_base}/bridge/event", $$$"""{"type":"device_joined","data":{"friendly_name":"{{{ieee}}}","ieee_address":"{{{ieee}}}"}}""");
                        await PublishAsync($"{_base}/bridge/event", $$$"""{"type":"device_interview","data":{"friendly_name":"{{{ieee}}}","status":"started","ieee_address":"{{{ieee}}}"}}""");
                        await PublishAsync($"{_base}/bridge/event", $$$$"""{"type":"device_interview","data":{"friendly_name":"{{{{ieee}}}}","status":"successful","ieee_address":"{{{{ieee}}}}","supported":true,"definition":{"model":"MCCGQ11LM","vendor":"Aqara","description":"Door and window sensor","exposes":[]}}}""");
                    }

                    break;
                }

            case "device/rename":
                {
                    var from = root.GetProperty("from").GetString();
                    var to = root.GetProperty("to").GetString();
                    await RespondAsync(request, $$"""{"data":{"from":"{{from}}","to":"{{to}}","homeassistant_rename":false},"status":"ok"}""");
                    break;
                }
        }
    }

    private Task RespondAsync(string request, string json) => PublishAsync($"{_base}/bridge/response/{request}", json);

    private async Task PublishAsync(string topic, string json) =>
        await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(json).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    public async ValueTask DisposeAsync()
    {
        await _client.DisconnectAsync();
        _client.Dispose();
    }
}
