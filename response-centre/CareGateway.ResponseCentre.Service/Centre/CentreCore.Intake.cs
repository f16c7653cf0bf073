using System.Threading.Channels;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>
/// The alarm intake: a group commit with one writer. Alarms queue in arrival order; the writer takes everything that
/// waits (up to <see cref="MaxBatch"/>) and stores it in ONE transaction (<see cref="ICentreStore.AddAlarmsAsync"/>:
/// gateway row, alarm once by id, sensor problem, the <c>received</c> acknowledgement row), so one commit (one fsync)
/// makes the whole batch durable. Only after that commit are the batch's <c>received</c> acknowledgements published.
/// There is no waiting window: while one commit is in flight the next batch gathers, so a lone alarm is stored at once
/// and a burst shares its fsyncs. Marking acknowledgements sent rides along in the next batch's transaction (or is
/// written on its own when nothing else waits); an acknowledgement published but not yet marked is published again by
/// the retry after a crash, which the gateway takes as one more <c>received</c>.
/// Semantics are those of storing one alarm at a time: stored once by <c>alarmId</c> (a copy counts up <c>copies</c>,
/// also within one batch), every copy answered, alarms stored and answered in the order they arrived. When a batch
/// fails, its alarms are stored one by one, so a bad alarm fails alone and the others are still answered.
/// </summary>
public sealed partial class CentreCore : IAsyncDisposable, IDisposable
{
    /// <summary>At most this many alarms in one transaction.</summary>
    internal const int MaxBatch = 256;

    // Not SingleReader: that channel cannot count what waits, which decides when 'sent' is written on its own.
    private readonly Channel<PendingAlarm> _intake = Channel.CreateUnbounded<PendingAlarm>();
    private readonly List<string> _acksSent = [];
    private Task? _writer;
    private long _batches;
    private long _batchedAlarms;

    /// <summary>Transactions the intake has committed, and the alarms in them (for the figures and the tests).</summary>
    internal (long Batches, long Alarms) IntakeCounts => (Interlocked.Read(ref _batches), Interlocked.Read(ref _batchedAlarms));

    private Task<bool> EnqueueAlarmAsync(AlarmMessage alarm, CancellationToken ct)
    {
        if (_writer is null)
        {
            lock (_intake)
            {
                _writer ??= Task.Run(WriteLoopAsync, CancellationToken.None);
            }
        }

        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_intake.Writer.TryWrite(new PendingAlarm(alarm, done)))
        {
            throw new InvalidOperationException($"The centre is stopping: alarm {alarm.AlarmId} from {alarm.GatewayId} was not taken (the gateway sends it again)");
        }

        return done.Task.WaitAsync(ct);
    }

    private async Task WriteLoopAsync()
    {
        var reader = _intake.Reader;
        var batch = new List<PendingAlarm>(MaxBatch);
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            var now = time.GetUtcNow();
            List<IncomingAlarm> incoming;
            IReadOnlyList<bool> fresh;
            try
            {
                (incoming, fresh) = await CommitBatchAsync(batch, now);
            }
#pragma warning disable CA1031 // the writer must outlive any one failure: every alarm is completed, stored or with its error
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogWarning(ex, "Storing a batch of {Count} alarms failed; storing them one by one", batch.Count);
                foreach (var item in batch)
                {
                    try
                    {
                        item.Done.TrySetResult(await StoreOneAlarmAsync(item.Alarm, CancellationToken.None));
                    }
#pragma warning disable CA1031 // handed to the caller, who logs it (the alarm is not answered, so the gateway sends it again)
                    catch (Exception one)
#pragma warning restore CA1031
                    {
                        item.Done.TrySetException(one);
                    }
                }

                continue;
            }

            // Stored: from here on nothing may store them again (that would only count copies and answer twice).
            try
            {
                await AnswerBatchAsync(batch, incoming, fresh, now, reader);
            }
#pragma warning disable CA1031 // the alarms are stored; their unsent acknowledgements are published again by the health loop
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogWarning(ex, "Answering a stored batch of {Count} alarms failed; the health loop sends what is unsent", batch.Count);
            }

            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Done.TrySetResult(fresh[i]);
            }
        }
    }

    private async Task<(List<IncomingAlarm> Incoming, IReadOnlyList<bool> Fresh)> CommitBatchAsync(List<PendingAlarm> batch, DateTimeOffset now)
    {
        var incoming = new List<IncomingAlarm>(batch.Count);
        foreach (var item in batch)
        {
            var alarm = item.Alarm;
            var ack = new AckRecord { AckId = Guid.CreateVersion7().ToString(), AlarmId = alarm.AlarmId, GatewayId = alarm.GatewayId, State = AckState.Received, By = settings.CentreId, At = now };
            var problem = alarm.SensorId is { } sensor && SensorProblemTypes.Contains(alarm.Type)
                ? new SensorProblem(alarm.GatewayId, sensor, alarm.Room, alarm.Type, alarm.RaisedAt, alarm.AlarmId)
                : null;
            incoming.Add(new IncomingAlarm(StoredAlarm.FromMessage(alarm, now), ack, problem));
        }

        // The commit: when it returns, every alarm of the batch is durable. Nothing is answered before this.
        var fresh = await store.AddAlarmsAsync(incoming, _acksSent, now, CancellationToken.None);
        _acksSent.Clear();
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _batchedAlarms, batch.Count);
        return (incoming, fresh);
    }

    private async Task AnswerBatchAsync(List<PendingAlarm> batch, List<IncomingAlarm> incoming, IReadOnlyList<bool> fresh, DateTimeOffset now, ChannelReader<PendingAlarm> reader)
    {
        // 'received' for every alarm and copy, published together (QoS 1, in arrival order), after the commit.
        var sends = new Task<bool>[incoming.Count];
        for (var i = 0; i < incoming.Count; i++)
        {
            sends[i] = TrySendAsync(incoming[i].Received);
        }

        var sent = await Task.WhenAll(sends);
        var anyFresh = false;
        for (var i = 0; i < batch.Count; i++)
        {
            var alarm = batch[i].Alarm;
            if (sent[i])
            {
                _acksSent.Add(incoming[i].Received.AckId);
            }
            else
            {
                log.LogWarning("The 'received' acknowledgement for {AlarmId} waits for the broker", alarm.AlarmId);
            }

            anyFresh |= fresh[i];
            await AfterStoredAsync(alarm, fresh[i], now);
        }

        events.Publish(anyFresh ? "alarm" : "changed");

        // Nothing else waiting: write 'sent' now rather than with a next batch that may not come soon.
        if (_acksSent.Count > 0 && reader.Count == 0)
        {
            try
            {
                await store.MarkAcksSentAsync(_acksSent, time.GetUtcNow(), CancellationToken.None);
                _acksSent.Clear();
            }
#pragma warning disable CA1031 // kept for the next batch; at worst the retry publishes them once more
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogWarning(ex, "Could not mark {Count} acknowledgements sent; trying again with the next alarms", _acksSent.Count);
            }
        }
    }

    private async Task<bool> TrySendAsync(AckRecord ack)
    {
        try
        {
            return await sender.TrySendAsync(ToMessage(ack), CancellationToken.None);
        }
#pragma warning disable CA1031 // the acknowledgement is stored unsent; the health loop publishes it again
        catch (Exception ex)
#pragma warning restore CA1031
        {
            log.LogWarning("Could not publish the 'received' acknowledgement for {AlarmId}: {Error}", ack.AlarmId, ex.Message);
            return false;
        }
    }

    /// <summary>What follows storing one alarm: the automatic close of a test alarm, and the log line.</summary>
    private async Task AfterStoredAsync(AlarmMessage alarm, bool fresh, DateTimeOffset now)
    {
        if (fresh && alarm.Type == AlarmType.Test)
        {
            try
            {
                if (await store.CloseAsync(alarm.AlarmId, settings.CentreId, now, AutomaticTestNote, CloseOutcome.Handled, CancellationToken.None))
                {
                    await SendAckAsync(alarm.GatewayId, alarm.AlarmId, AckState.Closed, settings.CentreId, CancellationToken.None);
                }
            }
#pragma warning disable CA1031 // the test alarm is stored and answered; an operator can still close it
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogWarning(ex, "Could not close test alarm {AlarmId} automatically", alarm.AlarmId);
            }

            log.LogInformation("Test alarm {AlarmId} from {GatewayId} seq {Seq} stored and closed automatically", alarm.AlarmId, alarm.GatewayId, alarm.Seq);
        }
        else if (fresh)
        {
            log.LogInformation("Alarm {AlarmId} ({Type}, {Priority}) from {GatewayId} seq {Seq} stored", alarm.AlarmId, alarm.Type, alarm.Priority, alarm.GatewayId, alarm.Seq);
        }
        else
        {
            log.LogDebug("Copy {Attempt} of alarm {AlarmId} from {GatewayId}: already stored", alarm.Attempt, alarm.AlarmId, alarm.GatewayId);
        }
    }

    /// <summary>Stops taking alarms and lets the writer finish what it has.</summary>
    public async ValueTask DisposeAsync()
    {
        _intake.Writer.TryComplete();
        if (_writer is { } writer)
        {
            await writer;
        }
    }

    public void Dispose() => _intake.Writer.TryComplete();

    private sealed record PendingAlarm(AlarmMessage Alarm, TaskCompletionSource<bool> Done);
}
