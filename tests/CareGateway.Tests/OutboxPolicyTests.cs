using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Uplink;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CareGateway.Tests;

/// <summary>The outbox's disk policy: bounded size, delivered alarms pruned, a full or corrupt store handled without losing alarms.</summary>
public class OutboxPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 0, 0, TimeSpan.Zero);

    private static NewAlarm Alarm(int n, string type = AlarmType.Panic) => new(
        Guid.CreateVersion7(T0.AddSeconds(n)).ToString(),
        type,
        AlarmCatalog.Get(type).Priority,
        AlarmCatalog.Get(type).VkpCode,
        AlarmCatalog.Get(type).Triage,
        AlarmState.Raised,
        "s-1",
        "hallway",
        T0.AddSeconds(n),
        $"policy test alarm {n} " + new string('x', 300));

    private static AckMessage Received(NewAlarm a, DateTimeOffset at) => new() { AlarmId = a.AlarmId, GatewayId = "gw-1", State = AckState.Received, By = "centre", At = at };

    [Fact]
    public async Task Delivered_alarms_are_pruned_after_the_retention_and_undelivered_ones_never()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"), new OutboxPolicy { DeliveredRetention = TimeSpan.FromDays(30), ReserveBytes = 0 }, NullLogger.Instance);
        var delivered = Alarm(1);
        var pending = Alarm(2);
        await outbox.AddAsync(delivered, CancellationToken.None);
        await outbox.AddAsync(pending, CancellationToken.None);
        outbox.ApplyAck(Received(delivered, T0));

        Assert.Equal(0, outbox.PruneDelivered(T0.AddDays(29)));
        Assert.Equal(1, outbox.PruneDelivered(T0.AddDays(31)));
        Assert.Equal(0, outbox.PruneDelivered(T0.AddYears(10)));

        Assert.Equal([pending.AlarmId], outbox.All().Select(a => a.Alarm.AlarmId));
        Assert.Equal(2, outbox.LastSeq); // pruning never lets a sequence number come back
        Assert.Equal(3, await outbox.AddAsync(Alarm(3), CancellationToken.None));
    }

    [Fact]
    public async Task At_its_bound_the_store_frees_delivered_alarms_first_and_then_grows_rather_than_drop_an_alarm()
    {
        using var dir = new TempDir();
        var policy = new OutboxPolicy { MaxBytes = 96 * 1024, EmergencyGrowthBytes = 32 * 1024, ReserveBytes = 0 };
        using var outbox = new SqliteOutbox(dir.File("outbox.db"), policy, NullLogger.Instance);
        var warnings = new List<string>();
        outbox.StorageWarning += warnings.Add;

        // Fill it with delivered alarms: the bound is kept by removing them.
        for (var n = 1; n <= 600; n++)
        {
            var a = Alarm(n);
            await outbox.AddAsync(a, CancellationToken.None);
            outbox.ApplyAck(Received(a, T0));
        }

        Assert.Empty(warnings);
        Assert.True(outbox.SizeBytes <= policy.MaxBytes, $"{outbox.SizeBytes} bytes is over the bound");

        // Now the centre stops answering: every undelivered alarm is kept, past the bound, and that is said loudly.
        var undelivered = new List<string>();
        for (var n = 601; n <= 1200; n++)
        {
            var a = Alarm(n, n % 2 == 0 ? AlarmType.Fall : AlarmType.LowBattery);
            await outbox.AddAsync(a, CancellationToken.None);
            undelivered.Add(a.AlarmId);
        }

        Assert.NotEmpty(warnings);
        Assert.Contains("rather than drop one", warnings[0], StringComparison.Ordinal);
        Assert.True(outbox.SizeBytes > policy.MaxBytes);
        Assert.Equal(600, outbox.PendingCount);
        Assert.Equal(undelivered.Order(StringComparer.Ordinal), outbox.Pending(1000).Select(p => p.Alarm.AlarmId).Order(StringComparer.Ordinal));
        Assert.Equal(1200, outbox.LastSeq);
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_moved_aside_and_a_new_store_is_used()
    {
        using var dir = new TempDir();
        var path = dir.File("outbox.db");
        await File.WriteAllTextAsync(path, "this is not an SQLite database, it was overwritten by something else");

        using var outbox = new SqliteOutbox(path, new OutboxPolicy { ReserveBytes = 0 }, NullLogger.Instance);

        Assert.NotNull(outbox.Recovery);
        Assert.True(File.Exists(outbox.Recovery.MovedTo), "the damaged file is kept for analysis");
        Assert.Contains("overwritten by something else", await File.ReadAllTextAsync(outbox.Recovery.MovedTo), StringComparison.Ordinal);
        Assert.Equal(0, outbox.Recovery.Salvaged);
        Assert.Equal(1, await outbox.AddAsync(Alarm(1), CancellationToken.None));
        Assert.Single(outbox.Pending());
    }

    [Fact]
    public async Task A_store_with_a_damaged_index_is_replaced_and_every_queued_alarm_is_read_back_with_its_number()
    {
        using var dir = new TempDir();
        var path = dir.File("outbox.db");
        var alarms = Enumerable.Range(1, 300).Select(n => Alarm(n, n % 3 == 0 ? AlarmType.Fall : AlarmType.Water)).ToList();
        using (var outbox = new SqliteOutbox(path, new OutboxPolicy { ReserveBytes = 0 }, NullLogger.Instance))
        {
            foreach (var a in alarms)
            {
                await outbox.AddAsync(a, CancellationToken.None);
            }

            foreach (var a in alarms.Take(100))
            {
                outbox.ApplyAck(Received(a, T0));
            }
        }

        CorruptPage(path, RootPageOf(path, "alarm_pending"));

        using var reopened = new SqliteOutbox(path, new OutboxPolicy { ReserveBytes = 0 }, NullLogger.Instance);
        Assert.NotNull(reopened.Recovery);
        Assert.Equal((300, 200), (reopened.Recovery.Salvaged, reopened.Recovery.SalvagedUndelivered));
        Assert.Equal(alarms.Skip(100).Select(a => a.AlarmId).Order(StringComparer.Ordinal), reopened.Pending(1000).Select(p => p.Alarm.AlarmId).Order(StringComparer.Ordinal));
        Assert.Equal(150, reopened.Find(alarms[149].AlarmId)!.Seq);
        Assert.Equal(301, await reopened.AddAsync(Alarm(301), CancellationToken.None));
        Assert.True(File.Exists(reopened.Recovery.MovedTo));
    }

    [Fact]
    public async Task A_gateway_that_finds_its_store_damaged_raises_a_technical_alarm_that_says_so()
    {
        using var dir = new TempDir();
        await File.WriteAllBytesAsync(dir.File("outbox.db"), new byte[8192]);
        var config = new GatewayConfig { GatewayId = "gw-1", DataDirectory = dir.Path, Broker = new BrokerConfig { Host = "127.0.0.1", Port = 1 } };
        using var gpio = new System.Device.Gpio.GpioController(new Hardware.SimulatedBoard());
        await using var gateway = new GatewayRuntime(config, gpio, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0), NullLoggerFactory.Instance);
        var stored = new TaskCompletionSource<NewAlarm>(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Raiser.Stored += (a, _) => stored.TrySetResult(a);
        using var stop = new CancellationTokenSource();
        var running = gateway.RunAsync(stop.Token);

        var alarm = await stored.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(AlarmType.GatewayFault, alarm.Type);
        Assert.Contains("damaged", alarm.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(dir.Path, alarm.Reason, StringComparison.Ordinal);
        Assert.Single(gateway.Outbox.Pending());

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    private static long RootPageOf(string path, string index)
    {
        using var db = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT rootpage FROM sqlite_master WHERE name = $n;";
        cmd.Parameters.AddWithValue("$n", index);
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void CorruptPage(string path, long page)
    {
        const int pageSize = 4096;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = (page - 1) * pageSize;
        var garbage = new byte[pageSize];
        new Random(42).NextBytes(garbage);
        file.Write(garbage);
    }
}

/// <summary>A store over its bound is a problem someone must hear about: locally at once, and at the centre.</summary>
public class StorageWarningTests
{
    [Fact]
    public async Task A_store_that_grows_past_its_bound_turns_on_the_local_warning_and_raises_one_gateway_fault_alarm()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"), new OutboxPolicy { MaxBytes = 64 * 1024, EmergencyGrowthBytes = 16 * 1024, ReserveBytes = 0 }, NullLogger.Instance);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var uplink = Forwarder.OverMqtt(new UplinkOptions { GatewayId = "gw-1", Host = "127.0.0.1", Port = 1 }, outbox, null, clock, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var running = uplink.RunAsync(stop.Token); // the fault loop raises the gateway-fault alarm
        var warnings = new List<(LocalWarning Warning, bool Active)>();
        uplink.LocalWarningChanged += (w, active, _) => warnings.Add((w, active));
        var fault = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var faults = 0;
        uplink.GatewayFaultRaised += id =>
        {
            Interlocked.Increment(ref faults);
            fault.TrySetResult(id);
        };

        var raised = 0;
        while (warnings.Count == 0 && raised < 5000)
        {
            raised++;
            var info = AlarmCatalog.Get(AlarmType.Panic);
            await outbox.AddAsync(new NewAlarm(Guid.CreateVersion7().ToString(), info.Type, info.Priority, info.VkpCode, info.Triage, AlarmState.Raised, "s-1", "hallway", DateTimeOffset.UtcNow, new string('x', 400)), CancellationToken.None);
        }

        Assert.Equal([(LocalWarning.StorageProblem, true)], warnings);
        var id = await fault.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(AlarmType.GatewayFault, outbox.Find(id)!.Alarm.Type);
        Assert.Equal(raised + 1, outbox.PendingCount); // nothing dropped, and the fault alarm queued too
        Assert.Contains(LocalWarning.StorageProblem, uplink.Diagnostics.ActiveWarnings);

        // More growth: still one fault alarm per run.
        for (var i = 0; i < 300; i++)
        {
            var info = AlarmCatalog.Get(AlarmType.Fall);
            await outbox.AddAsync(new NewAlarm(Guid.CreateVersion7().ToString(), info.Type, info.Priority, info.VkpCode, info.Triage, AlarmState.Raised, "s-1", "hallway", DateTimeOffset.UtcNow, new string('y', 400)), CancellationToken.None);
        }

        Assert.Equal(1, Volatile.Read(ref faults));
        await stop.CancelAsync();
        await running;
    }
}
