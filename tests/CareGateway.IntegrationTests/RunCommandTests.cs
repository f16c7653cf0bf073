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
