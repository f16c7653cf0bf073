using Xunit.Abstractions;
using System.Collections.Concurrent;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.ResponseCentre;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>A count that tests can wait on (no sleeping): <see cref="WaitForAsync"/> returns once it reaches a value.</summary>
public sealed class Counter
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _value;

    public int Value => Volatile.Read(ref _value);

    public void Increment()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _value++;
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    public async Task WaitForAsync(int atLeast, TimeSpan bound, string what)
    {
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_value >= atLeast)
                {
                    return;
                }

                changed = _changed.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{what}: reached {Value} of {atLeast} within {bound}");
            }

            try
            {
                await changed.WaitAsync(left);
            }
            catch (TimeoutException)
            {
            }
        }
    }
}

/// <summary>
/// The centre side of a fault test: a real <see cref="CentreReceiver"/> (it stores by id and answers <c>received</c>)
/// that also records every copy of every alarm, so a test can prove that all arrived and that copies agree.
/// </summary>
public sealed class CentreRecorder : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<AlarmMessage>> _copies = new(StringComparer.Ordinal);

    private CentreRecorder(CentreReceiver centre) => Centre = centre;

    public CentreReceiver Centre { get; }

    /// <summary>Distinct alarm ids seen.</summary>
    public Counter Distinct { get; } = new();

    public IReadOnlyDictionary<string, ConcurrentQueue<AlarmMessage>> Copies => _copies;

    public static async Task<CentreRecorder> StartAsync(MosquittoBroker broker, string centreId = "centre-test", string? username = null, int? port = null, CareGateway.Mqtt.MqttTlsOptions? tls = null)
    {
        var centre = new CentreReceiver(new CentreOptions { Host = broker.Host, Port = port ?? broker.Port, CentreId = centreId, Username = username, Tls = tls }, TimeProvider.System, NullLogger.Instance);
        var recorder = new CentreRecorder(centre);
        centre.AlarmCopyReceived += recorder.OnCopy;
        // A deadline of our own: without one MQTTnet bounds the connect by the client's 10 s timeout, which a TLS
        // handshake on a machine loaded with other work can exceed (AuthorizationTests failed that way).
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await centre.StartAsync(deadline.Token);
        return recorder;
    }

    public int CopiesOf(string alarmId) => _copies.TryGetValue(alarmId, out var q) ? q.Count : 0;

    /// <summary>
    /// Every expected alarm arrived, nothing else did, copies of one id agree on everything but the send fields, and
    /// no two alarm ids share a sequence number. Returns the number of extra copies (re-sends and redeliveries).
    /// </summary>
    public int AssertExactly(IReadOnlyCollection<string> expectedIds, string gatewayId)
    {
        var missing = expectedIds.Where(id => !_copies.ContainsKey(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {expectedIds.Count} alarms never reached the centre, e.g. {string.Join(", ", missing.Take(5))}");
        var unexpected = _copies.Keys.Except(expectedIds).ToList();
        Assert.True(unexpected.Count == 0, $"{unexpected.Count} alarms reached the centre that the gateway never raised: {string.Join(", ", unexpected.Take(5))}");

        var bySeq = new Dictionary<long, string>();
        var extra = 0;
        foreach (var (id, copies) in _copies)
        {
            var first = copies.First();
            foreach (var copy in copies)
            {
                Assert.Equal(id, copy.AlarmId);
                Assert.Equal(gatewayId, copy.GatewayId);
                Assert.Equal((first.Seq, first.Type, first.RaisedAt, first.Priority, first.Reason), (copy.Seq, copy.Type, copy.RaisedAt, copy.Priority, copy.Reason));
                Assert.True(copy.SentAt >= copy.RaisedAt, $"alarm {id} says it was sent before it was raised");
            }

            Assert.True(bySeq.TryAdd(first.Seq, id), $"seq {first.Seq} is used by two alarms: {(bySeq.TryGetValue(first.Seq, out var other) ? other : "?")} and {id}");
            extra += copies.Count - 1;
        }

        Assert.Equal(Centre.Alarms.Count, _copies.Count);
        return extra;
    }

    public ValueTask DisposeAsync() => Centre.DisposeAsync();

    private void OnCopy(AlarmMessage alarm)
    {
        var queue = _copies.GetOrAdd(alarm.AlarmId, _ => new ConcurrentQueue<AlarmMessage>());
        var firstCopy = queue.IsEmpty;
        queue.Enqueue(alarm);
        if (firstCopy)
        {
            Distinct.Increment();
        }
    }
}

/// <summary>A gateway's uplink half in this process on real time: outbox on disk, alarm raiser and MQTT uplink.</summary>
public sealed class UplinkUnderTest : IAsyncDisposable
{
    private static readonly string[] Types = [AlarmType.Panic, AlarmType.Fall, AlarmType.Wandering, AlarmType.LowBattery, AlarmType.Water];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private int _raised;
    private int _disposed;

    public UplinkUnderTest(string dataDir, UplinkOptions options, Microsoft.Extensions.Logging.ILogger? log = null)
    {
        Options = options;
        Outbox = new SqliteOutbox(Path.Combine(dataDir, "outbox.db"));
        Raiser = new AlarmRaiser(Outbox, () => new CareProfile());
        Uplink = Forwarder.OverMqtt(options, Outbox, Raiser, TimeProvider.System, log ?? NullLogger.Instance);
        Raiser.Stored += (_, _) => Uplink.NotifyNewAlarm();
        Uplink.Connected += Connects.Increment;
        Uplink.Disconnected += _ => Losses.Increment();
        Uplink.ConnectFailed += _ => FailedConnects.Increment();
        _running = Uplink.RunAsync(_stop.Token);
    }

    public UplinkOptions Options { get; }

    public SqliteOutbox Outbox { get; }

    public AlarmRaiser Raiser { get; }

    public Forwarder Uplink { get; }

    public Counter Connects { get; } = new();

    public Counter Losses { get; } = new();

    public Counter FailedConnects { get; } = new();

    /// <summary>Ids of every alarm raised (durable) so far.</summary>
    public ConcurrentQueue<string> Raised { get; } = new();

    /// <summary>Options for fast fault tests: short timers so that losses are noticed quickly; real time.</summary>
    public static UplinkOptions FastOptions(string gatewayId, string host, int port) => new()
    {
        GatewayId = gatewayId,
        Host = host,
        Port = port,
        KeepAlive = TimeSpan.FromSeconds(1),
        PublishTimeout = TimeSpan.FromSeconds(2),
        ConnectTimeout = TimeSpan.FromSeconds(2),
        ResendAfter = TimeSpan.FromSeconds(1),
        ReconnectMin = TimeSpan.FromMilliseconds(50),
        ReconnectMax = TimeSpan.FromMilliseconds(500),
    };

    public async Task RaiseAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var n = Interlocked.Increment(ref _raised);
            var alarm = await Raiser.RaiseAsync(new AlarmRequest(Types[n % Types.Length], $"s-{n % 7}", "hallway", $"fault test alarm {n}", DateTimeOffset.UtcNow), CancellationToken.None);
            Raised.Enqueue(alarm.AlarmId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }

        await Uplink.DisposeAsync();
        Outbox.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Writes log lines to the test's output (shown when a test fails), with a time stamp.</summary>
public sealed class TestOutputLogger(ITestOutputHelper output, string category) : Microsoft.Extensions.Logging.ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Information;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        try
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}");
        }
        catch (InvalidOperationException)
        {
            // The test has finished; its output is closed.
        }
    }
}

/// <summary>Keeps every log line (message and exception text) so a test can look for what must never be logged.</summary>
public sealed class CapturingLogger : Microsoft.Extensions.Logging.ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        _lines.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
    }
}
