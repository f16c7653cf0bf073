using System.Text.Json;
using System.Text.Json.Serialization;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// The console's data as JSON (issue 18): the queue, one alarm with its acknowledgements, the gateways. The same
/// login and roles as the pages (it sits in the console's group, behind the same cookie and its session checks); a
/// call without a session gets 401 with a JSON body, not a redirect to the login page. Reads only: acting on alarms
/// stays with the console's forms and their CSRF tokens.
/// </summary>
public static class ConsoleApi
{
    public const string Prefix = "/api/";

    public static void Map(RouteGroupBuilder console)
    {
        console.MapGet("/api/queue", async (HttpContext ctx, ICentreStore store, CentreSettings settings, string? page) =>
        {
            if (!ConsoleEndpoints.TryPage(page, out var number))
            {
                return Error(StatusCodes.Status400BadRequest, ConsoleEndpoints.PageError(page));
            }

            var q = await ConsoleEndpoints.QueuePageAsync(store, settings, number, ctx);
            var labels = await LabelsAsync(store, ctx);
            return Json(new ApiQueuePage(q.Number, q.Total, [.. q.Rows.Select(a => ApiAlarm.From(a, labels))]), ApiJson.Default.ApiQueuePage);
        });

        console.MapGet("/api/alarms/{gateway}/{id}", async (string gateway, string id, HttpContext ctx, ICentreStore store) =>
        {
            if (!GatewayId.IsValid(gateway))
            {
                return Error(StatusCodes.Status400BadRequest, $"'{DateRange.Shorten(gateway)}' is not a gateway id.");
            }

            var key = new AlarmKey(gateway, id);
            if (await store.GetAlarmAsync(key, ctx.RequestAborted) is not { } alarm)
            {
                return Error(StatusCodes.Status404NotFound, $"No alarm {DateRange.Shorten(id)} of {gateway}.");
            }

            var acks = await store.AcksAsync(key, ctx.RequestAborted);
            var dispatches = await store.DispatchesAsync(key, ctx.RequestAborted);
            var teams = dispatches.ToDictionary(d => d.DispatchId, d => d.Team, StringComparer.Ordinal);
            var handling = await store.HandlingAsync(key, ctx.RequestAborted);
            return Json(ApiAlarm.From(alarm, await LabelsAsync(store, ctx)) with
            {
                Acks = [.. acks.Select(a => new ApiAck(a.State.ToString().ToLowerInvariant(), a.By, a.At, a.SentAt))],
                // Issue 18: what was done between accept and close; a dispatch without its link (the token is never kept).
                Handling = [.. handling.Select(s => new ApiHandlingStep(s.Kind, s.At, s.By, s.ToWhom, s.Outcome, s.Text, s.DispatchId is { } d ? teams.GetValueOrDefault(d) : null))],
                Dispatches = [.. dispatches.Select(d => new ApiDispatch(d.Team, d.CreatedAt, d.CreatedBy, d.ExpiresAt, d.EndedAt))],
            }, ApiJson.Default.ApiAlarm);
        });

        console.MapGet("/api/gateways", async (HttpContext ctx, ICentreStore store) =>
            Json((await store.GatewaysAsync(ctx.RequestAborted)).Select(g => new ApiGateway(
                g.GatewayId, g.Label, g.HomeGroup, g.Silent ? "silent" : g.State?.ToString().ToLowerInvariant(), g.LastHeartbeatAt, g.PendingAlarms, g.SoftwareVersion)).ToList(), ApiJson.Default.ListApiGateway));
    }

    /// <summary>For the cookie handler: an API call without a session (401) or without the role (403) gets JSON, not the login page.</summary>
    public static Task AnswerOrRedirect(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> context, int status)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            context.Response.Redirect(context.RedirectUri);
            return Task.CompletedTask;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = JsonSerializer.SerializeToUtf8Bytes(new ApiError(status == StatusCodes.Status401Unauthorized ? "Not signed in: log in to the console first." : "Your role may not read this."), ApiJson.Default.ApiError);
        return context.Response.Body.WriteAsync(body).AsTask();
    }

    private static async Task<Dictionary<string, string?>> LabelsAsync(ICentreStore store, HttpContext ctx) =>
        (await store.GatewaysAsync(ctx.RequestAborted)).ToDictionary(g => g.GatewayId, g => g.Label, StringComparer.Ordinal);

    private static IResult Json<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        Results.Bytes(JsonSerializer.SerializeToUtf8Bytes(value, type), "application/json; charset=utf-8");

    private static IResult Error(int status, string message) =>
        Results.Text(JsonSerializer.Serialize(new ApiError(message), ApiJson.Default.ApiError), "application/json; charset=utf-8", System.Text.Encoding.UTF8, status);
}

public sealed record ApiError(string Error);

public sealed record ApiQueuePage(int Page, int Total, IReadOnlyList<ApiAlarm> Alarms);

public sealed record ApiAck(string State, string By, DateTimeOffset At, DateTimeOffset? SentAt);

/// <summary>One step of an alarm's handling (issue 18): <c>call</c>, <c>dispatch</c>, <c>on-the-way</c>, <c>arrived</c>, <c>done</c>.</summary>
public sealed record ApiHandlingStep(string Kind, DateTimeOffset At, string By, string? ToWhom, string? Outcome, string? Text, string? Team);

/// <summary>A team sent to the alarm: when its link ends (at the latest) and when it ended (the alarm closed).</summary>
public sealed record ApiDispatch(string Team, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset ExpiresAt, DateTimeOffset? EndedAt);

public sealed record ApiGateway(string GatewayId, string? Label, string? Group, string? State, DateTimeOffset? LastHeartbeatAt, int? PendingAlarms, string? SoftwareVersion);

/// <summary>One alarm as the console shows it (the note is there: the API has the console's permissions).</summary>
public sealed record ApiAlarm
{
    public required string GatewayId { get; init; }
    public required string AlarmId { get; init; }
    public string? HomeLabel { get; init; }
    public required string Type { get; init; }
    public required string Priority { get; init; }
    public required string Triage { get; init; }
    public required string Status { get; init; }
    public string? Room { get; init; }
    public string? SensorId { get; init; }
    public required string Reason { get; init; }
    public required DateTimeOffset RaisedAt { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
    public DateTimeOffset? AcceptedAt { get; init; }
    public string? AcceptedBy { get; init; }
    public DateTimeOffset? ClosedAt { get; init; }
    public string? ClosedBy { get; init; }
    public string? Outcome { get; init; }
    public string? Note { get; init; }
    public int Repeats { get; init; }
    public DateTimeOffset? RepeatedAt { get; init; }
    public DateTimeOffset? EscalatedAt { get; init; }
    public bool Technical { get; init; }
    public IReadOnlyList<ApiAck>? Acks { get; init; }
    public IReadOnlyList<ApiHandlingStep>? Handling { get; init; }
    public IReadOnlyList<ApiDispatch>? Dispatches { get; init; }

    public static ApiAlarm From(StoredAlarm a, IReadOnlyDictionary<string, string?> labels) => new()
    {
        GatewayId = a.GatewayId,
        AlarmId = a.AlarmId,
        HomeLabel = labels.GetValueOrDefault(a.GatewayId),
        Type = a.Type,
        Priority = a.Priority.ToString().ToLowerInvariant(),
        Triage = a.Triage,
        Status = a.State == AlarmState.Cancelled ? "cancelled" : a.Status.ToString().ToLowerInvariant(),
        Room = a.Room,
        SensorId = a.SensorId,
        Reason = a.Reason,
        RaisedAt = a.RaisedAt,
        ReceivedAt = a.ReceivedAt,
        AcceptedAt = a.AcceptedAt,
        AcceptedBy = a.AcceptedBy,
        ClosedAt = a.ClosedAt,
        ClosedBy = a.ClosedBy,
        Outcome = a.Outcome,
        Note = a.Note,
        Repeats = a.Repeats,
        RepeatedAt = a.RepeatedAt,
        EscalatedAt = a.EscalatedAt,
        Technical = a.IsTechnical,
    };
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApiQueuePage))]
[JsonSerializable(typeof(ApiAlarm))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(List<ApiGateway>))]
internal sealed partial class ApiJson : JsonSerializerContext;
