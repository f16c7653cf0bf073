using CareGateway.Protocol;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// Tells the resident that help is coming (issue 13). When the centre answers <c>accepted</c> for a call about the
/// resident (not a technical alarm, a test or a cancelled one), the home shows it: the help LED (<c>board.leds</c> named
/// <c>help</c>, <c>ok</c> or <c>green</c>) lights until the alarm is <c>closed</c>, and the buzzer gives a chime of
/// three short rising notes, distinct from the warnings' steady tone. A repeated <c>accepted</c> (a redelivery) does not
/// chime again. After a restart, alarms accepted and not yet closed light the LED again, without a chime.
/// </summary>
public sealed class HelpOnTheWay(LocalOutputs outputs, SqliteOutbox outbox, TimeProvider time, ILogger log)
{
    /// <summary>The chime: buzzer on and off in these steps (on, off, on, off, on).</summary>
    public static readonly TimeSpan[] Chime =
        [TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(120), TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(120), TimeSpan.FromMilliseconds(300)];

    private const string ChimeReason = "help-chime";
    private readonly Lock _gate = new();
    private int _chimes;

    /// <summary>Completes when the latest chime has ended (for tests that drive the clock).</summary>
    public Task LastChime { get; private set; } = Task.CompletedTask;

    /// <summary>Alarms accepted and not closed (in the outbox) light the help LED again after a restart.</summary>
    public void Restore()
    {
        foreach (var a in outbox.All().Where(a => a.Ack == AckState.Accepted && IsCareCall(a)))
        {
            outputs.Set(LocalOutputs.Output.HelpLed, Reason(a.Alarm.AlarmId), true);
        }
    }

    /// <summary>The uplink's acknowledgements (<see cref="Forwarder.AckReceived"/>).</summary>
    public void OnAck(AckMessage ack, AckOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(ack);
        if (ack.State == AckState.Closed)
        {
            outputs.Set(LocalOutputs.Output.HelpLed, Reason(ack.AlarmId), false);
            return;
        }

        if (ack.State != AckState.Accepted || outcome != AckOutcome.Applied || outbox.Find(ack.AlarmId) is not { } alarm || !IsCareCall(alarm))
        {
            return;
        }

        log.LogInformation("Alarm {AlarmId} ({Type}) accepted by {OperatorId}: the home shows that help is on the way", ack.AlarmId, alarm.Alarm.Type, ack.By);
        outputs.Set(LocalOutputs.Output.HelpLed, Reason(ack.AlarmId), true);
        lock (_gate)
        {
            LastChime = ChimeAsync(++_chimes);
        }
    }

    private async Task ChimeAsync(int chime)
    {
        for (var i = 0; i < Chime.Length; i++)
        {
            lock (_gate)
            {
                if (chime != _chimes)
                {
                    return; // a newer chime took over
                }

                outputs.Set(LocalOutputs.Output.Buzzer, ChimeReason, i % 2 == 0);
            }

            await Task.Delay(Chime[i], time).ConfigureAwait(false);
        }

        lock (_gate)
        {
            if (chime == _chimes)
            {
                outputs.Set(LocalOutputs.Output.Buzzer, ChimeReason, false);
            }
        }
    }

    private static bool IsCareCall(OutboxAlarm a) =>
        a.Alarm.State == AlarmState.Raised && a.Alarm.Type != AlarmType.Test && AlarmCatalog.IsKnown(a.Alarm.Type) && !AlarmCatalog.Get(a.Alarm.Type).Technical;

    private static string Reason(string alarmId) => "help:" + alarmId;
}
