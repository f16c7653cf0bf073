using BenchmarkDotNet.Attributes;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Uplink;

namespace CareGateway.Benchmarks;

/// <summary>
/// Making one alarm durable: an INSERT in the SQLite outbox in WAL mode with synchronous=FULL, i.e. one fsync per
/// alarm. This is the floor under the gateway's sensor-to-centre latency. The figure depends on the disk: run it on
/// the Pi's SD card or SSD for a real number.
/// </summary>
[MemoryDiagnoser]
public class OutboxBenchmarks
{
    private string _dir = string.Empty;
    private SqliteOutbox _outbox = null!;
    private long _n;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("care-gateway-bench-").FullName;
        _outbox = new SqliteOutbox(Path.Combine(_dir, "outbox.db"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _outbox.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public Task<long> AddDurableAlarm()
    {
        var at = DateTimeOffset.UnixEpoch.AddSeconds(++_n);
        var info = AlarmCatalog.Get(AlarmType.Panic);
        return _outbox.AddAsync(
            new NewAlarm(Guid.CreateVersion7(at).ToString(), info.Type, info.Priority, info.VkpCode, info.Triage, AlarmState.Raised, "panic-1", "bedroom", at, "Panic button pressed"),
            CancellationToken.None);
    }
}
