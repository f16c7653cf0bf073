using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>A dispatch as made: the record, and the link's token, which exists only here (the store keeps its hash).</summary>
public sealed record DispatchMade(DispatchRecord Dispatch, string Token);

/// <summary>
/// Issue 18: the handling between accept and close. The operator logs calls and sends a home-care team; the team marks
/// its steps from the link it was given. Every step goes to every open console (the alarm page shows it live).
/// </summary>
public sealed partial class CentreCore
{
    /// <summary>The operator called someone about the alarm.</summary>
    public async Task<OperatorResult> LogCallAsync(AlarmKey key, CentreUser user, string toWhom, string outcome, string? text, CancellationToken ct)
    {
        if (!CallOutcome.IsValid(outcome))
        {
            throw new ArgumentException($"outcome: '{outcome}' is not one of {string.Join(", ", CallOutcome.All)}", nameof(outcome));
        }

        if (await store.GetAlarmAsync(key, ct) is null)
        {
            return OperatorResult.NotFound;
        }

        var step = new HandlingStep
        {
            StepId = HandlingStep.NewId(),
            GatewayId = key.GatewayId,
            AlarmId = key.AlarmId,
            At = time.GetUtcNow(),
            By = user.OperatorId,
            Kind = HandlingKind.Call,
            ToWhom = toWhom.Trim(),
            Outcome = outcome,
            Text = string.IsNullOrWhiteSpace(text) ? null : text.Trim(),
        };
        if (!await store.AddHandlingStepAsync(step, ct))
        {
            return OperatorResult.NotInHand;
        }

        log.LogInformation("Alarm {AlarmId} of {GatewayId}: call logged by {OperatorId} ({Outcome})", key.AlarmId, key.GatewayId, user.OperatorId, outcome);
        events.Publish("changed");
        return OperatorResult.Done;
    }

    /// <summary>The operator sends a team (or one staff member); the result carries the link's token, to be given to the team once.</summary>
    public async Task<(OperatorResult Result, DispatchMade? Made)> DispatchAsync(AlarmKey key, CentreUser user, string team, CancellationToken ct)
    {
        if (await store.GetAlarmAsync(key, ct) is null)
        {
            return (OperatorResult.NotFound, null);
        }

        var now = time.GetUtcNow();
        var token = DispatchRecord.NewToken();
        var dispatch = new DispatchRecord
        {
            DispatchId = Guid.CreateVersion7().ToString(),
            GatewayId = key.GatewayId,
            AlarmId = key.AlarmId,
            Team = team.Trim(),
            TokenHash = DispatchRecord.HashToken(token),
            CreatedAt = now,
            CreatedBy = user.OperatorId,
            ExpiresAt = now + settings.Dispatch.LinkLifetime,
        };
        var step = new HandlingStep
        {
            StepId = HandlingStep.NewId(),
            GatewayId = key.GatewayId,
            AlarmId = key.AlarmId,
            At = now,
            By = user.OperatorId,
            Kind = HandlingKind.Dispatch,
            ToWhom = dispatch.Team,
            DispatchId = dispatch.DispatchId,
        };
        if (!await store.AddDispatchAsync(dispatch, step, ct))
        {
            return (OperatorResult.NotInHand, null);
        }

        log.LogInformation("Alarm {AlarmId} of {GatewayId}: team dispatched by {OperatorId}", key.AlarmId, key.GatewayId, user.OperatorId);
        events.Publish("changed");
        return (OperatorResult.Done, new DispatchMade(dispatch, token));
    }

    /// <summary>The dispatch a link's token opens, while it works (not ended by the close, not expired); null otherwise.</summary>
    public async Task<DispatchRecord?> OpenDispatchAsync(string token, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 100)
        {
            return null;
        }

        var dispatch = await store.FindDispatchAsync(DispatchRecord.HashToken(token), ct);
        return dispatch is not null && dispatch.IsValidAt(time.GetUtcNow()) ? dispatch : null;
    }

    /// <summary>A team marks one of its steps (<see cref="HandlingKind.TeamSteps"/>); false when the link no longer works or the step was marked already.</summary>
    public async Task<bool> TeamStepAsync(DispatchRecord dispatch, string kind, CancellationToken ct)
    {
        if (!HandlingKind.TeamSteps.Contains(kind, StringComparer.Ordinal))
        {
            throw new ArgumentException($"kind: '{kind}' is not one of {string.Join(", ", HandlingKind.TeamSteps)}", nameof(kind));
        }

        var stored = await store.AddHandlingStepAsync(new HandlingStep
        {
            StepId = HandlingStep.NewId(),
            GatewayId = dispatch.GatewayId,
            AlarmId = dispatch.AlarmId,
            At = time.GetUtcNow(),
            By = dispatch.Team,
            Kind = kind,
            DispatchId = dispatch.DispatchId,
        }, ct);
        if (stored)
        {
            log.LogInformation("Alarm {AlarmId} of {GatewayId}: the team marked {Kind}", dispatch.AlarmId, dispatch.GatewayId, kind);
            events.Publish("changed");
        }

        return stored;
    }
}
