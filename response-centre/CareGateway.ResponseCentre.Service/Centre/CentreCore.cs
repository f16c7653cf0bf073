using System.Globalization;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>What an operator's action did.</summary>
public enum OperatorResult
{
    Done,
    NotFound,

    /// <summary>Someone else (or an earlier click) already took the alarm that far.</summary>
    AlreadyDone,

    /// <summary>The alarm is not in an operator's hands: not accepted yet, or closed already (handling is recorded between the two).</summary>
    NotInHand,
}

/// <summary>
/// The centre's logic, free of MQTT and HTTP: stores what gateways send, answers <c>received</c> once an alarm is
/// stored, carries out operators' accept and close, and raises technical alarms about gateways (offline by last
/// will, silent by missing heartbeats, alarms missing by sequence number). Time comes from <see cref="TimeProvider"/>.
/// Alarms are keyed by gateway and id. Technical alarms have random ids (UUIDv4; a gateway's must be UUIDv7) and are
/// stored once per gateway and cause, so several instances that see the same status or heartbeat store them once.
/// </summary>
public sealed partial class CentreCore(ICentreStore store, IAckSender sender, CentreEvents events, TimeProvider time, CentreSettings settings, ILogger<CentreCore> log)
{
    private static readonly HashSet<string> SensorProblemTypes = new(StringComparer.Ordinal) { AlarmType.LowBattery, AlarmType.SensorOffline, AlarmType.Tamper };

    public ICentreStore Store => store;

    /// <summary>The note on a test alarm the centre closed by itself.</summary>
    public const string AutomaticTestNote = "automatic end-to-end test";

    /// <summary>An alarm from a gateway: store it once, then answer <c>received</c> (for every copy).</summary>
    /// <remarks>
    /// Alarms go through the group commit (<c>CentreCore.Intake.cs</c>): those arriving while a commit is in flight are
    /// stored together in the next transaction, each answered <c>received</c> after that commit. The returned task
    /// completes once the alarm is stored and its acknowledgement handed to the broker (or left for a retry).
    /// </remarks>
    public Task OnAlarmAsync(AlarmMessage alarm, CancellationToken ct)
    {
        if (AlarmCatalog.Get(alarm.Type).VkpCode is var vkp && !string.Equals(vkp, alarm.VkpCode, StringComparison.Ordinal))
        {
            log.LogWarning("Alarm {AlarmId} from {GatewayId} says VKP code {Sent} for type {Type}; stored with the catalogue's {VkpCode}",
                alarm.AlarmId, alarm.GatewayId, LogText.Escape(alarm.VkpCode), alarm.Type, vkp);
        }

        return EnqueueAlarmAsync(alarm, ct);
    }

    /// <summary>One alarm on its own (the group commit's fallback when a batch fails): store it, then answer <c>received</c>.</summary>
    private async Task<bool> StoreOneAlarmAsync(AlarmMessage alarm, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await store.EnsureGatewayAsync(alarm.GatewayId, Math.Max(0, alarm.Seq - 1), ct);
        var stored = StoredAlarm.FromMessage(alarm, now);
        var fresh = await store.AddAlarmAsync(stored, ct);
        if (fresh && alarm.SensorId is { } sensor && SensorProblemTypes.Contains(alarm.Type))
        {
            await store.RecordSensorProblemAsync(new SensorProblem(alarm.GatewayId, sensor, alarm.Room, alarm.Type, alarm.RaisedAt, alarm.AlarmId), ct);
        }

        var repeated = !fresh && stored.Repeats > 0 && await store.RecordRepeatAsync(stored, ct);
        await SendAckAsync(alarm.GatewayId, alarm.AlarmId, AckState.Received, settings.CentreId, ct, stored.Repeats);
        await AfterStoredAsync(alarm, fresh, now, repeated);
        events.Publish(fresh || repeated ? "alarm" : "changed");
        return fresh;
    }

    /// <summary>A gateway's retained status or last will.</summary>
    public async Task OnStatusAsync(StatusMessage status, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var before = await store.RecordStatusAsync(status, now, ct);
        if (status.State == GatewayState.Offline)
        {
            if (before != GatewayState.Offline)
            {
                await store.AddGatewayEventAsync(new GatewayEvent(status.GatewayId, now, false), ct);
            }

            // One alarm per connection that ended: the will of a connection carries that connection's 'since'.
            await RaiseTechnicalAsync(status.GatewayId, CentreAlarmType.GatewayOffline, Ms(status.Since), now,
                $"Gateway offline (last will or stop) since its connection of {status.Since:u}: the home cannot call for help", ct);
        }
        else if (before != GatewayState.Online)
        {
            await store.AddGatewayEventAsync(new GatewayEvent(status.GatewayId, now, true), ct);
        }

        events.Publish("gateway");
    }

    /// <summary>A heartbeat: the gateway is alive; with nothing pending, every sequence number up to <c>lastSeq</c> must be here.</summary>
    /// <remarks>Recorded by the intake's writer with the alarms waiting at the same time, in one transaction.</remarks>
    public Task OnHeartbeatAsync(HeartbeatMessage heartbeat, CancellationToken ct) => EnqueueHeartbeatAsync(heartbeat, ct);

    /// <summary>One heartbeat on its own (the intake's fallback when a batch fails).</summary>
    private async Task StoreOneHeartbeatAsync(HeartbeatMessage heartbeat, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var before = await store.RecordHeartbeatAsync(heartbeat, now, ct);
        if (IntakeCommit.ComesBack(before))
        {
            await store.AddGatewayEventAsync(new GatewayEvent(heartbeat.GatewayId, now, true), ct);
        }

        await AfterHeartbeatAsync(heartbeat, before, now, ct);
    }

    /// <summary>
    /// What follows recording a heartbeat (and the gateway event of one that comes back): telling the consoles, and the
    /// check for missing sequence numbers.
    /// </summary>
    private async Task AfterHeartbeatAsync(HeartbeatMessage heartbeat, GatewayRecord? before, DateTimeOffset now, CancellationToken ct)
    {
        if (IntakeCommit.ComesBack(before))
        {
            events.Publish("gateway");
        }

        if (heartbeat.PendingAlarms == 0 && before is { LastHeartbeatAt: not null } && heartbeat.LastSeq > before.GapReportedUpTo && heartbeat.LastSeq > before.SeqBaseline)
        {
            var known = await store.KnownSeqsAsync(heartbeat.GatewayId, before.SeqBaseline + 1, heartbeat.LastSeq, ct);
            var expected = heartbeat.LastSeq - before.SeqBaseline;
            if (known.Count < expected)
            {
                var have = known.ToHashSet();
                var missing = new List<long>();
                for (var s = before.SeqBaseline + 1; s <= heartbeat.LastSeq && missing.Count < 20; s++)
                {
                    if (!have.Contains(s))
                    {
                        missing.Add(s);
                    }
                }

                var list = string.Join(", ", missing.Select(s => s.ToString(CultureInfo.InvariantCulture)));
                await RaiseTechnicalAsync(heartbeat.GatewayId, CentreAlarmType.SequenceGap, heartbeat.LastSeq, now,
                    $"{expected - known.Count} alarm(s) never arrived (sequence {list}{(expected - known.Count > missing.Count ? ", ..." : "")}); the gateway reports none pending", ct);
                await store.SetGapReportedAsync(heartbeat.GatewayId, heartbeat.LastSeq, ct);
            }
        }
    }

    /// <summary>Looks for gateways whose heartbeats stopped (about <see cref="CentreSettings.MissedHeartbeats"/> intervals).</summary>
    public async Task<int> CheckHeartbeatsAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var raised = 0;
        foreach (var gw in await store.GatewaysAsync(ct))
        {
            if (gw.Silent || gw.State == GatewayState.Offline || gw.LastHeartbeatAt is not { } last || gw.IntervalSeconds is not { } interval)
            {
                continue;
            }

            if (now - last < TimeSpan.FromSeconds(interval * settings.MissedHeartbeats))
            {
                continue;
            }

            if (await store.MarkSilentAsync(gw.GatewayId, now, ct))
            {
                await store.AddGatewayEventAsync(new GatewayEvent(gw.GatewayId, now, false), ct);
                await RaiseTechnicalAsync(gw.GatewayId, CentreAlarmType.HeartbeatMissing, Ms(last), now,
                    $"No heartbeat since {last:u} (every {interval} s expected): the gateway or its connection has gone silent", ct);
                raised++;
                events.Publish("gateway");
            }
        }

        return raised;
    }

    /// <summary>Re-sends acknowledgements the broker did not take (it was down); returns how many went out.</summary>
    public async Task<int> RetryUnsentAcksAsync(CancellationToken ct)
    {
        var sent = 0;
        ForgetOldSent();
        foreach (var ack in await store.UnsentAcksAsync(100, ct))
        {
            if (InFlight(ack.AckId))
            {
                continue; // the intake is publishing it, or has and is about to write it sent
            }

            if (!await sender.TrySendAsync(ToMessage(ack), ct))
            {
                break;
            }

            await store.MarkAckSentAsync(ack.AckId, time.GetUtcNow(), ct);
            sent++;
        }

        return sent;
    }

    private DateTimeOffset _testWatchAt = DateTimeOffset.MinValue;

    /// <summary>
    /// The test-alarm watch: a gateway online whose automatic test alarm is overdue (<see cref="CentreSettings.TestAlarmOverdueHours"/>,
    /// counted from the latest one, or from when the centre first knew the gateway) gets one technical alarm per missed
    /// test. Looked at once a minute at most (it reads every gateway's latest test).
    /// </summary>
    public async Task<int> CheckTestAlarmsAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (settings.TestAlarmOverdueHours <= 0 || now - _testWatchAt < TimeSpan.FromMinutes(1))
        {
            return 0;
        }

        _testWatchAt = now;
        var limit = TimeSpan.FromHours(settings.TestAlarmOverdueHours);
        var gateways = (await store.GatewaysAsync(ct)).ToDictionary(g => g.GatewayId, StringComparer.Ordinal);
        var raised = 0;
        foreach (var seen in await store.TestAlarmsSeenAsync(ct))
        {
            // An offline or silent gateway has its own alarm already, and cannot send a test.
            if (!gateways.TryGetValue(seen.GatewayId, out var gw) || gw.Silent || gw.State != GatewayState.Online
                || (seen.LastReceivedAt ?? seen.KnownSince) is not { } since || now - since < limit)
            {
                continue;
            }

            var reason = seen.LastReceivedAt is { } last
                ? $"No automatic test alarm since {last:u} (expected every day): the path from the home to the centre may be broken"
                : $"No automatic test alarm since the centre first heard of the gateway at {since:u}: check that its test alarm is on";
            if (await RaiseTechnicalAsync(seen.GatewayId, CentreAlarmType.TestAlarmMissing, Ms(since), now, reason, ct))
            {
                raised++;
            }
        }

        return raised;
    }

    private static readonly string[] CareTypes = [.. AlarmCatalog.All.Where(t => !t.Technical).Select(t => t.Type)];

    /// <summary>
    /// Escalation (issue 13): every care alarm still waiting for an operator past its priority's time to be accepted
    /// (<see cref="EscalationSettings"/>) is marked escalated, once, and every console is alerted again; supervisors
    /// and admins see it as theirs. Run on the health loop's tick.
    /// </summary>
    public async Task<IReadOnlyList<StoredAlarm>> EscalateOverdueAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var cutoffs = Enum.GetValues<AlarmPriority>().ToDictionary(p => p, p => now - settings.Escalation.TimeToAccept(p));
        var escalated = await store.EscalateOverdueAsync(now, cutoffs, CareTypes, ct);
        foreach (var a in escalated)
        {
            log.LogWarning("Alarm {AlarmId} ({Type}, {Priority}) of {GatewayId} not accepted within {Seconds} s: escalated to the supervisors",
                a.AlarmId, a.Type, a.Priority, a.GatewayId, (int)settings.Escalation.TimeToAccept(a.Priority).TotalSeconds);
        }

        if (escalated.Count > 0)
        {
            events.Publish("alarm");
        }

        return escalated;
    }

    /// <summary>An operator takes one alarm; its gateway gets <c>accepted</c>.</summary>
    public async Task<OperatorResult> AcceptAsync(AlarmKey key, CentreUser user, CancellationToken ct)
    {
        var alarm = await store.GetAlarmAsync(key, ct);
        if (alarm is null)
        {
            return OperatorResult.NotFound;
        }

        if (!await store.AcceptAsync(key, user.OperatorId, time.GetUtcNow(), ct))
        {
            return OperatorResult.AlreadyDone;
        }

        if (alarm.Origin == AlarmOrigin.Gateway)
        {
            await SendAckAsync(key.GatewayId, key.AlarmId, AckState.Accepted, user.OperatorId, ct);
        }

        log.LogInformation("Alarm {AlarmId} of {GatewayId} accepted by {OperatorId}", key.AlarmId, key.GatewayId, user.OperatorId);
        events.Publish("changed");
        return OperatorResult.Done;
    }

    /// <summary>
    /// An operator finishes one alarm with a note and an outcome; the gateway gets <c>closed</c>. The note stays at the
    /// centre (it may hold health details and belongs in the record, not in the home).
    /// </summary>
    public async Task<OperatorResult> CloseAsync(AlarmKey key, CentreUser user, string? note, string? outcome, CancellationToken ct)
    {
        if (!CloseOutcome.IsValid(outcome))
        {
            throw new ArgumentException($"outcome: '{outcome}' is not one of {string.Join(", ", CloseOutcome.All)}", nameof(outcome));
        }

        var alarm = await store.GetAlarmAsync(key, ct);
        if (alarm is null)
        {
            return OperatorResult.NotFound;
        }

        note = string.IsNullOrWhiteSpace(note) ? null : note.Trim();
        if (!await store.CloseAsync(key, user.OperatorId, time.GetUtcNow(), note, outcome ?? CloseOutcome.Handled, ct))
        {
            return OperatorResult.AlreadyDone;
        }

        if (alarm.Origin == AlarmOrigin.Gateway)
        {
            if (alarm.State == AlarmState.Raised && alarm.Type != AlarmType.Test)
            {
                OneFewerOpen(key.GatewayId);
            }

            await SendAckAsync(key.GatewayId, key.AlarmId, AckState.Closed, user.OperatorId, ct);
        }

        log.LogInformation("Alarm {AlarmId} of {GatewayId} closed by {OperatorId} ({Outcome})", key.AlarmId, key.GatewayId, user.OperatorId, outcome ?? CloseOutcome.Handled);
        events.Publish("changed");
        events.PublishClosed();
        return OperatorResult.Done;
    }


    private async Task<bool> RaiseTechnicalAsync(string gatewayId, string type, long cause, DateTimeOffset now, string reason, CancellationToken ct)
    {
        var alarm = new StoredAlarm
        {
            // Random (UUIDv4): nobody can guess it, and a gateway's ids must be UUIDv7, so none can collide with it.
            AlarmId = Guid.NewGuid().ToString(),
            GatewayId = gatewayId,
            Origin = AlarmOrigin.Centre,
            Cause = string.Create(CultureInfo.InvariantCulture, $"{type}-{cause}"),
            Type = type,
            Priority = AlarmPriority.High,
            VkpCode = "4",
            Triage = Triage.Green,
            State = AlarmState.Raised,
            Reason = reason,
            RaisedAt = now,
            ReceivedAt = now,
        };
        if (await store.AddAlarmAsync(alarm, ct))
        {
            log.LogWarning("Technical alarm {Type} for gateway {GatewayId}: {Reason}", type, gatewayId, reason);
            events.Publish("alarm");
            return true;
        }

        return false;
    }

    private async Task SendAckAsync(string gatewayId, string alarmId, AckState state, string by, CancellationToken ct, int repeats = 0)
    {
        var record = new AckRecord { AckId = Guid.CreateVersion7().ToString(), AlarmId = alarmId, GatewayId = gatewayId, State = state, By = by, At = time.GetUtcNow(), Repeats = repeats };
        await store.AddAckAsync(record, ct);
        if (await sender.TrySendAsync(ToMessage(record), ct))
        {
            await store.MarkAckSentAsync(record.AckId, time.GetUtcNow(), ct);
        }
        else
        {
            log.LogWarning("The '{State}' acknowledgement for {AlarmId} waits for the broker", state, alarmId);
        }
    }

    private static AckMessage ToMessage(AckRecord a) =>
        new() { AlarmId = a.AlarmId, GatewayId = a.GatewayId, State = a.State, By = a.By, At = a.At, Repeats = a.Repeats > 0 ? a.Repeats : null };

    private static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();
}
