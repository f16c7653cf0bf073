using System.Collections.Concurrent;
using System.Diagnostics;
using CareGateway.Protocol;
using CareGateway.Tests;
using Microsoft.Extensions.Logging;
using MQTTnet;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>A fact that needs root (to mount a small filesystem); skipped, with the reason, otherwise. CI runs as root.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Skip = "needs root to mount a small tmpfs that the test fills (CI runs as root; run ./test.sh as root to include it)";
        }
    }
}

/// <summary>
/// A full disk, on a real small filesystem (a tmpfs of 16 MiB that the test mounts and fills): the gateway's data
/// directory lives there, with and without a delivered alarm already in the store. Presses made while the disk is full
/// are stored in the space of the released reserve and delivered; presses made once even that is used up wait on the
/// rule loop (and their Zigbee messages at the broker) and are delivered once space returns; a <c>gateway-fault</c>
/// alarm says so; the log stays bounded.
/// </summary>
public class FullDiskTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [RootFact]
    public Task With_a_delivered_alarm_in_the_store_no_press_is_lost_to_a_full_disk() => RunAsync(withDelivered: true);

    [RootFact]
    public Task With_an_empty_store_no_press_is_lost_to_a_full_disk() => RunAsync(withDelivered: false);

    private async Task RunAsync(bool withDelivered)
    {
        using var dir = new TempDir();
        var mount = Path.Combine(dir.Path, "small-disk");
        Directory.CreateDirectory(mount);
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount);
        try
        {
            await RunOnAsync(mount, withDelivered);
        }
        finally
        {
            await RunAsync("umount", "-l", mount);
        }
    }

    private async Task RunOnAsync(string mount, bool withDelivered)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var centre = await CentreRecorder.StartAsync(broker);
        var faults = new Counter();
        centre.Centre.AlarmCopyReceived += a =>
        {
            if (a.Type == AlarmType.GatewayFault)
            {
                faults.Increment();
            }
        };
        using var configDir = new TempDir();
        var gatewayId = withDelivered ? "gw-full-disk-delivered" : "gw-full-disk-empty";
        var config = ConfigLoader.Load(FaultSuite.WriteZigbeeConfig(configDir, gatewayId, broker.Port, broker.Port, 40)) with
        {
            DataDirectory = Path.Combine(mount, "data"),
            Outbox = new OutboxConfig { ReserveMegabytes = 1 },
        };
        using var z2m = new MqttClientFactory().CreateMqttClient();
        await z2m.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("zigbee2mqtt-fake").Build());
        await FaultSuite.PublishAsync(z2m, "zigbee2mqtt/bridge/state", "online", retain: true);

        var logs = new CountingLoggerFactory(output);
        await using var gateway = new GatewayRuntime(config, gpio: null, TimeProvider.System, logs);
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Zigbee!.Subscribed += () => subscribed.TrySetResult();
        var warnings = new ConcurrentQueue<LocalWarningSeen>();
        gateway.Uplink.LocalWarningChanged += (w, on, _) => warnings.Enqueue(new LocalWarningSeen(w.ToString(), on));
        using var stop = new CancellationTokenSource();
        var running = gateway.RunAsync(stop.Token);
        await subscribed.Task.WaitAsync(Bound);

        var pressed = 0;
        if (withDelivered)
        {
            await FaultSuite.PressAsync(z2m, pressed++);
            await centre.Distinct.WaitForAsync(1, Bound, "the first alarm at the centre");
            await WaitUntilAsync(() => gateway.Outbox.PendingCount == 0, "the first alarm recorded as received");
        }

        // The disk fills up (another program's file): the next presses find no room but the reserve's.
        var filler = Path.Combine(mount, "filler");
        Fill(filler);
        var linesBefore = logs.Lines;
        for (var i = 0; i < 10; i++)
        {
            await FaultSuite.PressAsync(z2m, pressed++);
        }

        await centre.Distinct.WaitForAsync(pressed, Bound, "the presses made on the full disk, at the centre");
        await faults.WaitForAsync(1, Bound, "the gateway-fault alarm about the full disk");
        Assert.True(gateway.Outbox.IsShedding, "the reserve was released and writes other than alarms are shed");
        Assert.Contains(warnings, w => w is { Warning: "StorageProblem", On: true });

        // The space of the reserve is taken too: now presses cannot be stored at all, and wait.
        Fill(filler);
        for (var i = 0; i < 10; i++)
        {
            await FaultSuite.PressAsync(z2m, pressed++);
        }

        // Space returns: every press is stored and delivered, once.
        File.Delete(filler);
        await centre.Distinct.WaitForAsync(pressed + 1, Bound, "every press and the fault alarm at the centre after space returned");
        await WaitUntilAsync(() => !gateway.Outbox.IsShedding, "the reserve taken back");
        var linesDuringFault = logs.Lines - linesBefore;
        output.WriteLine($"{pressed} presses, {centre.Distinct.Value} alarms at the centre; {linesDuringFault} log lines while the disk was full");
        Assert.InRange(linesDuringFault, 1, 200);
        Assert.True(logs.Critical >= 1, "a full disk is said loudly (critical)");

        await stop.CancelAsync();
        await running.WaitAsync(Bound).ContinueWith(_ => { }, TaskScheduler.Default);
        var atCentre = centre.Copies.Values.Select(c => c.First()).ToList();
        Assert.Single(atCentre, a => a.Type == AlarmType.GatewayFault);
        FaultSuite.AssertOneAlarmPerPress([.. atCentre.Where(a => a.Type == AlarmType.Panic)], pressed);
    }

    private static void Fill(string path)
    {
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write);
        var block = new byte[64 * 1024];
        try
        {
            while (true)
            {
                file.Write(block);
                file.Flush(flushToDisk: true);
            }
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full.
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what}: not within {Bound}");
            await Task.Delay(50);
        }
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {error}");
    }

    private sealed record LocalWarningSeen(string Warning, bool On);

    /// <summary>Counts every line the gateway logs (and shows warnings and worse in the test output).</summary>
    private sealed class CountingLoggerFactory(ITestOutputHelper output) : ILoggerFactory
    {
        private int _lines;
        private int _critical;

        public int Lines => Volatile.Read(ref _lines);

        public int Critical => Volatile.Read(ref _critical);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => new Counting(this, new TestOutputLogger(output, categoryName));

        public void Dispose()
        {
        }

        private sealed class Counting(CountingLoggerFactory owner, TestOutputLogger inner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                Interlocked.Increment(ref owner._lines);
                if (logLevel == LogLevel.Critical)
                {
                    Interlocked.Increment(ref owner._critical);
                }

                if (logLevel >= LogLevel.Warning)
                {
                    inner.Log(logLevel, eventId, state, exception, formatter);
                }
            }
        }
    }
}
