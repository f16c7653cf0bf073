using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using CareGateway.Protocol;
using CareGateway.Tests;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.IntegrationTests.Cli;

/// <summary><c>care-gateway simulate</c> against <c>care-gateway run</c> on the simulated board, both real processes, on a real Mosquitto.</summary>
public class SimulateTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public Task Simulate_press_on_a_running_gateway_raises_the_panic_alarm_at_a_subscriber() =>
        PressRaisesThePanicAlarmAsync(args => Info(args), Bound);

    /// <summary>
    /// <c>run</c> on the simulated board with a panic button, then <c>simulate press</c>: the panic alarm reaches a
    /// subscriber on a real Mosquitto. <paramref name="launch"/> says how to start the executable (the built assembly, or
    /// the packaged native binary, under qemu on another architecture).
    /// </summary>
    internal static async Task PressRaisesThePanicAlarmAsync(Func<string[], ProcessStartInfo> launch, TimeSpan bound)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = dir.File("gateway.json");
        await File.WriteAllTextAsync(configPath, string.Create(CultureInfo.InvariantCulture, $$"""
            {
              "gatewayId": "gw-sim-1",
              "dataDirectory": "{{dir.Path}}/data",
              "broker": { "host": "127.0.0.1", "port": {{broker.Port}} },
              "board": { "driver": "simulated" },
              "sensors": [
                { "id": "panic-bed", "kind": "panic", "room": "bedroom", "gpio": { "headerPin": 13, "pull": "up", "wiring": "normally-open" } }
              ]
            }
            """));

        var online = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var alarm = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watcher = new MqttClientFactory().CreateMqttClient();
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            var payload = e.ApplicationMessage.Payload.ToArray();
            if (e.ApplicationMessage.Topic == Topics.Alarm("gw-sim-1"))
            {
                alarm.TrySetResult(Encoding.UTF8.GetString(payload));
            }
            else if (ProtocolJson.TryParseStatus(payload, out var status, out _) && status.State == GatewayState.Online)
            {
                online.TrySetResult();
            }

            return Task.CompletedTask;
        };
        await watcher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).Build());
        await watcher.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.Status("gw-sim-1"), MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter(Topics.Alarm("gw-sim-1"), MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());

        var output = new StringBuilder();
        using var gateway = Start(launch, output, "run", "--config", configPath);
        try
        {
            await online.Task.WaitAsync(bound);
            Assert.False(alarm.Task.IsCompleted, "an alarm before the press: the button reads pressed at rest");

            var (code, said) = await RunToEndAsync(launch, bound, "simulate", "press", "panic-bed", "--config", configPath);

            Assert.True(code == 0, $"exit {code}: {said}\n{Read(output)}");
            Assert.Contains("Pressed panic-bed", said, StringComparison.Ordinal);
            var raised = await alarm.Task.WaitAsync(bound);
            Assert.Contains("\"type\":\"panic\"", raised, StringComparison.Ordinal);
            Assert.Contains("\"sensorId\":\"panic-bed\"", raised, StringComparison.Ordinal);
        }
        finally
        {
            if (!gateway.HasExited)
            {
                gateway.Kill(entireProcessTree: true);
            }
        }
    }

    private static Process Start(Func<string[], ProcessStartInfo> launch, StringBuilder output, params string[] args)
    {
        var process = Process.Start(launch(args)) ?? throw new InvalidOperationException("care-gateway did not start");
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<(int Code, string Output)> RunToEndAsync(Func<string[], ProcessStartInfo> launch, TimeSpan bound, params string[] args)
    {
        using var process = Process.Start(launch(args)) ?? throw new InvalidOperationException("care-gateway did not start");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(bound);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static ProcessStartInfo Info(string[] args) => Launch("dotnet", [Path.Combine(AppContext.BaseDirectory, "care-gateway.dll"), .. args]);

    /// <summary>How these tests start a process: its output and input redirected.</summary>
    internal static ProcessStartInfo Launch(string file, string[] args) =>
        new(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
