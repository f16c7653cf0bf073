using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>The acknowledgement timers and the silent-centre watch, on fake time with a real outbox.</summary>
public sealed class CentreSupervisorTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();
    private readonly SqliteOutbox _outbox;
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly RecordingIndicator _indicator = new();
    private readonly UplinkOptions _options = new()
    {
        GatewayId = "gw-1",
        Host = "unused",
        ReceivedTimeout = TimeSpan.FromSeconds(60),
        AcceptedTimeout = TimeSpan.FromMinutes(5),
        HeartbeatInterval = TimeSpan.FromSeconds(60),
    };

    private readonly CentreSupervisor _supervisor;

    public CentreSupervisorTests()
    {
        _outbox = new SqliteOutbox(_dir.File("outbox.db"), new OutboxPolicy { ReserveBytes = 0 }, NullLogger.Instance);
        _supervisor = new CentreSupervisor(_options, _indicator);
        _supervisor.Started(T0);
        _supervisor.ConnectionUp(T0);
        _supervisor.CentreAnswered(T0);
        _indicator.Changes.Clear();
    }

    public void Dispose()
    {
        _outbox.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task An_alarm_without_received_in_time_warns_locally_that_the_centre_cannot_be_reached_until_it_is_received()
    {
        var alarm = await RaiseAsync(AlarmType.Fall);
        _clock.Advance(TimeSpan.FromSeconds(59));
        Evaluate();
        Assert.Empty(_indicator.Changes);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Evaluate();
        var on = Assert.Single(_indicator.Changes);
        Assert.Equal((LocalWarning.CentreUnreachable, true), (on.Warning, on.Active));
        Assert.Contains("1 alarm(s) without 'received'", on.Reason, StringComparison.Ordinal);

        Evaluate(); // no repeats while nothing changes
        Assert.Single(_indicator.Changes);

        Ack(alarm, AckState.Received);
        Evaluate();
        Assert.Equal((LocalWarning.CentreUnreachable, false), (_indicator.Changes[^1].Warning, _indicator.Changes[^1].Active));
    }

    [Fact]
    public void No_connection_for_the_received_timeout_warns_even_without_an_alarm()
    {
        _supervisor.ConnectionDown(_clock.GetUtcNow());
        _clock.Advance(TimeSpan.FromSeconds(30));
        Evaluate();
        Assert.DoesNotContain(_indicator.Changes, c => c.Active);

        _clock.Advance(TimeSpan.FromSeconds(30));
        Evaluate();
        Assert.Contains(_indicator.Changes, c => c is { Warning: LocalWarning.CentreUnreachable, Active: true });

        _supervisor.ConnectionUp(_clock.GetUtcNow());
        Evaluate();
        Assert.Equal((LocalWarning.CentreUnreachable, false), (_indicator.Changes[^1].Warning, _indicator.Changes[^1].Active));
    }

    [Fact]
    public void A_centre_that_stops_answering_heartbeats_is_reported_silent_and_cleared_when_it_answers()
    {
        Assert.Equal(TimeSpan.FromMinutes(3), _supervisor.SilentAfter);
        for (var i = 0; i < 3; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1));
            _supervisor.HeartbeatSent(_clock.GetUtcNow());
            _supervisor.CentreAnswered(_clock.GetUtcNow());
            Evaluate();
        }

        // From here on the centre answers nothing: silence counts from the first unanswered heartbeat.
        for (var i = 0; i < 3; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1));
            _supervisor.HeartbeatSent(_clock.GetUtcNow());
            Evaluate();
        }

        _clock.Advance(TimeSpan.FromMinutes(0.9)); // 2.9 minutes after the first unanswered heartbeat
        Evaluate();
        Assert.Empty(_indicator.Changes);

        _clock.Advance(TimeSpan.FromMinutes(0.1));
        Evaluate();
        Assert.Equal([(LocalWarning.CentreSilent, true)], _indicator.Changes.Select(c => (c.Warning, c.Active)));
        Assert.Equal([LocalWarning.CentreSilent], _supervisor.ActiveWarnings);

        _supervisor.CentreAnswered(_clock.GetUtcNow());
        Assert.Equal((LocalWarning.CentreSilent, false), (_indicator.Changes[^1].Warning, _indicator.Changes[^1].Active));
        Assert.Empty(_supervisor.ActiveWarnings);
    }

    [Fact]
    public void A_gateway_that_sent_no_heartbeat_does_not_blame_the_centre()
    {
        // A long gap without heartbeats (the clock jumped, or sending failed), then one heartbeat: not yet silence.
        _clock.Advance(TimeSpan.FromHours(1));
        _supervisor.HeartbeatSent(_clock.GetUtcNow());
        Evaluate();
        Assert.Empty(_indicator.Changes);
    }

    [Fact]
    public async Task An_alarm_not_accepted_in_time_is_escalated_once_and_test_alarms_never()
    {
        var fall = await RaiseAsync(AlarmType.Fall);
        var test = await RaiseAsync(AlarmType.Test);
        Ack(fall, AckState.Received);
        Ack(test, AckState.Received);

        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Empty(Evaluate());

        _clock.Advance(TimeSpan.FromMinutes(1));
        var escalated = Evaluate();
        Assert.Equal([fall.AlarmId], escalated.Select(a => a.Alarm.AlarmId));
        Assert.Contains(_indicator.Changes, c => c is { Warning: LocalWarning.AlarmNotAccepted, Active: true });

        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(Evaluate()); // once per alarm

        Ack(fall, AckState.Accepted);
        Evaluate();
        Assert.Equal((LocalWarning.AlarmNotAccepted, false), (_indicator.Changes[^1].Warning, _indicator.Changes[^1].Active));
    }

    [Fact]
    public async Task Supervision_sleeps_while_nothing_can_become_overdue_and_looks_every_interval_while_an_alarm_waits()
    {
        var step = TimeSpan.FromSeconds(5);
        NextLook(out var idle);
        Assert.Equal(_options.HeartbeatInterval, idle); // connected, nothing in the outbox, no warning: asleep

        _supervisor.HeartbeatSent(_clock.GetUtcNow());
        _clock.Advance(TimeSpan.FromSeconds(40));
        NextLook(out var untilSilent);
        Assert.Equal(_options.HeartbeatInterval, untilSilent); // silent in 140 s: the idle cap comes first
        _clock.Advance(TimeSpan.FromSeconds(110));
        NextLook(out untilSilent);
        Assert.Equal(TimeSpan.FromSeconds(30), untilSilent); // exactly when three heartbeat intervals have passed

        _supervisor.CentreAnswered(_clock.GetUtcNow());
        var alarm = await RaiseAsync(AlarmType.Fall);
        Assert.Equal(step, NextLook(out _)); // waiting for received
        Ack(alarm, AckState.Received);
        Assert.Equal(step, NextLook(out _)); // waiting for an operator
        Ack(alarm, AckState.Accepted);
        Assert.Equal(_options.HeartbeatInterval, NextLook(out _));

        _supervisor.ConnectionDown(_clock.GetUtcNow());
        Assert.Equal(step, NextLook(out _)); // no connection: looks until the warning is due
    }

    private TimeSpan NextLook(out TimeSpan wait)
    {
        var now = _clock.GetUtcNow();
        var overdue = _outbox.Overdue(now, _options.ReceivedTimeout, _options.AcceptedTimeout);
        _supervisor.Evaluate(now, overdue);
        wait = _supervisor.NextLook(now, overdue.Outstanding, TimeSpan.FromSeconds(5), _options.HeartbeatInterval);
        return wait;
    }

    private IReadOnlyList<OutboxAlarm> Evaluate()
    {
        var now = _clock.GetUtcNow();
        return _supervisor.Evaluate(now, _outbox.Overdue(now, _options.ReceivedTimeout, _options.AcceptedTimeout));
    }

    private async Task<NewAlarm> RaiseAsync(string type)
    {
        var info = AlarmCatalog.Get(type);
        var alarm = new NewAlarm(Guid.CreateVersion7(_clock.GetUtcNow()).ToString(), type, info.Priority, info.VkpCode, info.Triage, AlarmState.Raised, null, null, _clock.GetUtcNow(), "test");
        await _outbox.AddAsync(alarm, CancellationToken.None);
        return alarm;
    }

    private void Ack(NewAlarm alarm, AckState state) =>
        _outbox.ApplyAck(new AckMessage { AlarmId = alarm.AlarmId, GatewayId = "gw-1", State = state, By = "centre", At = _clock.GetUtcNow() });

    private sealed class RecordingIndicator : ILocalIndicator
    {
        public List<(LocalWarning Warning, bool Active, string Reason)> Changes { get; } = [];

        public void Show(LocalWarning warning, bool active, string reason) => Changes.Add((warning, active, reason));
    }
}
