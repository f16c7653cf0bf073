using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging.Abstractions;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>A gateway's real uplink (durable SQLite outbox + MQTT) for end-to-end tests against the service.</summary>
public sealed class Gateway : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    public Gateway(string gatewayId, int brokerPort, string outboxPath, TimeSpan? heartbeatInterval = null)
    {
        Id = gatewayId;
        Outbox = new SqliteOutbox(outboxPath);
        Uplink = Forwarder.OverMqtt(
            new UplinkOptions { GatewayId = gatewayId, Host = "127.0.0.1", Port = brokerPort, HeartbeatInterval = heartbeatInterval ?? TimeSpan.FromSeconds(60), SoftwareVersion = "0.1.0-test" },
            Outbox,
            null,
            TimeProvider.System,
            NullLogger.Instance);
        Uplink.AckReceived += (ack, _) =>
        {
            lock (Acks)
            {
                Acks.Add(ack);
                foreach (var w in _waiters.ToList())
                {
                    if (w.Match(ack))
                    {
                        w.Done.TrySetResult();
                        _waiters.Remove(w);
                    }
                }
            }
        };
        _running = Uplink.RunAsync(_stop.Token);
    }

    public string Id { get; }

    public SqliteOutbox Outbox { get; }

    public Forwarder Uplink { get; }

    public List<AckMessage> Acks { get; } = [];

    private readonly List<(Func<AckMessage, bool> Match, TaskCompletionSource Done)> _waiters = [];

    /// <summary>Raises an alarm the way the rules do: into the outbox first, then the uplink sends it.</summary>
    /// <remarks><paramref name="id"/> is for tests where another gateway used the same id first; normally it is new.</remarks>
    public async Task<string> RaiseAsync(string type, string room = "hallway", AlarmState state = AlarmState.Raised, string? id = null)
    {
        var info = AlarmCatalog.Get(type);
        id ??= Guid.CreateVersion7().ToString();
        await Outbox.AddAsync(new NewAlarm(id, type, info.Priority, info.VkpCode, info.Triage, state, "sensor-1", room, DateTimeOffset.UtcNow, $"Test: {type} in the {room}"), default);
        Uplink.NotifyNewAlarm();
        return id;
    }

    /// <summary>The same call once more, the way the rules hand it over: while its alarm is open it is a repeat of it.</summary>
    public async Task<AddOutcome> RepeatAsync(string type, string room = "hallway")
    {
        var info = AlarmCatalog.Get(type);
        IAlarmOutbox outbox = Outbox;
        var outcome = (await outbox.AddUnlessOpenAsync([new NewAlarm(Guid.CreateVersion7().ToString(), type, info.Priority, info.VkpCode, info.Triage, AlarmState.Raised, "sensor-1", room, DateTimeOffset.UtcNow, $"Test: {type} in the {room}")], default))[0];
        Uplink.NotifyNewAlarm();
        return outcome;
    }

    /// <summary>Completes when an acknowledgement for the alarm in that state (or a later one) has arrived, with at least these repeats.</summary>
    public Task WaitForAckAsync(string alarmId, AckState state, int repeats = 0)
    {
        bool Match(AckMessage a) => a.AlarmId == alarmId && a.State >= state && (a.Repeats ?? 0) >= repeats;
        lock (Acks)
        {
            if (Acks.Any(Match))
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((Match, done));
            return done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public async ValueTask DisposeAsync()
    {
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
