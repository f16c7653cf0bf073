using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using CareGateway.Protocol;
using CareGateway.Tests;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.IntegrationTests;

/// <summary><c>care-gateway run --config FILE</c> as a real process against a real Mosquitto.</summary>
public class RunCommandTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Run_connects_with_the_config_and_a_sigterm_stops_it_cleanly_with_offline_status()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = dir.File("gateway.json");
        await File.WriteAllTextAsync(configPath, string.Create(CultureInfo.InvariantCulture, $$"""
            {
              "gatewayId": "gw-run-1",
              "dataDirectory": "{{dir.Path}}/data",
              "broker": { "host": "127.0.0.1", "port": {{broker.Port}} },
              "board": { "driver": "simulated" },
              "sensors": [
                { "id": "door-front", "kind": "door", "room": "hallway", "outerDoor": true, "gpio": { "line": 17, "pull": "up" } }
              ]
            }
            """));

        using var watcher = new MqttClientFactory().CreateMqttClient();
        var online = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var offline = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            if (ProtocolJson.TryParseStatus(e.ApplicationMessage.Payload.ToArray(), out var status, out _))
            {
                (status.State == GatewayState.Online ? online : offline).TrySetResult();
            }

            return Task.CompletedTask;
        };
        await watcher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).Build());
        await watcher.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(Topics.Status("gw-run-1"), MqttQualityOfServiceLevel.AtLeastOnce).Build());

        using var gateway = StartGateway("run", "--config", configPath);
        await online.Task.WaitAsync(Bound);

        using (var term = Process.Start("kill", ["-TERM", gateway.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term!.WaitForExitAsync();
        }

        await gateway.Process.WaitForExitAsync().WaitAsync(Bound);
        try
        {
            await offline.Task.WaitAsync(Bound);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"no 'offline' status after the gateway stopped (exit {gateway.Process.ExitCode}); its output:\n{gateway.Output}");
        }

        Assert.True(gateway.Process.ExitCode == 0, gateway.Output);
        Assert.True(File.Exists(Path.Combine(dir.Path, "data", "outbox.db")));
    }

    [Fact]
    public async Task Run_with_a_broken_config_says_what_and_where_and_exits_non_zero()
    {
        using var dir = new TempDir();
        var configPath = dir.File("gateway.json");
        await File.WriteAllTextAsync(configPath, """{ "gatewayId": "gw-1", "broker": { "host": "127.0.0.1", "port": "many" } }""");

        using var gateway = StartGateway("run", "--config", configPath);
        await gateway.Process.WaitForExitAsync().WaitAsync(Bound);

        Assert.Equal(2, gateway.Process.ExitCode);
        Assert.Contains("$.broker.port", gateway.Output, StringComparison.Ordinal);
        Assert.Contains(configPath, gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configuration_change_is_applied_in_process_without_the_centre_seeing_offline_or_an_alarm()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = dir.File("gateway.json");
        string Config(int heartbeat) => string.Create(CultureInfo.InvariantCulture, $$"""
            {
              "gatewayId": "gw-run-reload",
              "dataDirectory": "{{dir.Path}}/data",
              "broker": { "host": "127.0.0.1", "port": {{broker.Port}}, "heartbeatSeconds": {{heartbeat}} },
              "board": { "driver": "simulated" },
              "sensors": [
                { "id": "door-front", "kind": "door", "room": "hallway", "outerDoor": true, "gpio": { "line": 17, "pull": "up" } }
              ]
            }
            """);
        await File.WriteAllTextAsync(configPath, Config(60));

        // A subscriber that records every status and every alarm the gateway publishes (what a centre would see).
        var statuses = new System.Collections.Concurrent.ConcurrentQueue<StatusMessage>();
        var alarms = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var onlines = new Counter();
        var offlines = new Counter();
        using var watcher = new MqttClientFactory().CreateMqttClient();
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            var payload = e.ApplicationMessage.Payload.ToArray();
            if (e.ApplicationMessage.Topic == Topics.Alarm("gw-run-reload"))
            {
                alarms.Enqueue(Encoding.UTF8.GetString(payload));
            }
            else if (ProtocolJson.TryParseStatus(payload, out var status, out _))
            {
                statuses.Enqueue(status);
                (status.State == GatewayState.Online ? onlines : offlines).Increment();
            }

            return Task.CompletedTask;
        };
        await watcher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).Build());
        await watcher.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.Status("gw-run-reload"), MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter(Topics.Alarm("gw-run-reload"), MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());

        using var gateway = StartGateway("run", "--config", configPath);
        await onlines.WaitForAsync(1, Bound, "the gateway online");

        // Two changes, each applied in the same process: the new gateway says 'online' again on the same session.
        await File.WriteAllTextAsync(configPath, Config(30));
        await onlines.WaitForAsync(2, Bound, "online after the first reload");
        await File.WriteAllTextAsync(configPath, Config(45));
        await onlines.WaitForAsync(3, Bound, "online after the second reload");

        // SIGTERM: the one 'offline' of this run comes now, and it is the last status (so none came before it).
        using (var term = Process.Start("kill", ["-TERM", gateway.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term!.WaitForExitAsync();
        }

        await gateway.Process.WaitForExitAsync().WaitAsync(Bound);
        await offlines.WaitForAsync(1, Bound, "offline after SIGTERM");

        var states = statuses.Select(st => st.State).ToList();
        Assert.True(states.Count(st => st == GatewayState.Offline) == 1 && states[^1] == GatewayState.Offline, $"statuses seen: {string.Join(", ", states)}\n{gateway.Output}");
        Assert.Empty(alarms);
        Assert.Contains("restarting the gateway on it", gateway.Output, StringComparison.Ordinal);
        Assert.True(gateway.Process.ExitCode == 0, gateway.Output);
    }

    [Fact]
    public async Task A_fatal_start_exits_non_zero_with_a_clear_message()
    {
        using var dir = new TempDir();
        var configPath = dir.File("gateway.json");
        // A wired sensor on a board whose GPIO driver cannot be opened here (no libgpiod, no Raspberry Pi).
        await File.WriteAllTextAsync(configPath, string.Create(CultureInfo.InvariantCulture, $$"""
            {
              "gatewayId": "gw-run-fatal",
              "dataDirectory": "{{dir.Path}}/data",
              "broker": { "host": "127.0.0.1", "port": 1 },
              "board": { "driver": "libgpiod", "chip": 0 },
              "sensors": [ { "id": "door-front", "kind": "door", "room": "hallway", "gpio": { "line": 17, "pull": "up" } } ]
            }
            """));

        using var gateway = StartGateway("run", "--config", configPath);
        await gateway.Process.WaitForExitAsync().WaitAsync(Bound);

        Assert.True(gateway.Process.ExitCode == 1, $"exit {gateway.Process.ExitCode}: {gateway.Output}");
        Assert.Contains("The gateway could not start:", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_zigbee_only_gateway_on_the_default_board_needs_no_gpio_driver()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = dir.File("gateway.json");
        await File.WriteAllTextAsync(configPath, string.Create(CultureInfo.InvariantCulture, $$"""
            {
              "gatewayId": "gw-run-zigbee",
              "dataDirectory": "{{dir.Path}}/data",
              "broker": { "host": "127.0.0.1", "port": {{broker.Port}} },
              "zigbee": { "broker": { "host": "127.0.0.1", "port": {{broker.Port}} } },
              "sensors": [ { "id": "panic-1", "kind": "panic", "room": "bedroom", "zigbee": { "device": "bedroom/sos" } } ]
            }
            """));
        using var watcher = new MqttClientFactory().CreateMqttClient();
        var online = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            if (ProtocolJson.TryParseStatus(e.ApplicationMessage.Payload.ToArray(), out var status, out _) && status.State == GatewayState.Online)
            {
                online.TrySetResult();
            }

            return Task.CompletedTask;
        };
        await watcher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).Build());
        await watcher.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(Topics.Status("gw-run-zigbee"), MqttQualityOfServiceLevel.AtLeastOnce).Build());

        using var gateway = StartGateway("run", "--config", configPath);
        await online.Task.WaitAsync(Bound).ContinueWith(t => Assert.True(t.IsCompletedSuccessfully, gateway.Output), TaskScheduler.Default);
        Assert.False(gateway.Process.HasExited, gateway.Output);
    }

    private static GatewayProcess StartGateway(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "care-gateway.dll");
        var info = new ProcessStartInfo("dotnet", [dll, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return new GatewayProcess(Process.Start(info) ?? throw new InvalidOperationException("care-gateway did not start"));
    }

    private sealed class GatewayProcess : IDisposable
    {
        private readonly StringBuilder _output = new();

        public GatewayProcess(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }

            Process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }
    }
}
