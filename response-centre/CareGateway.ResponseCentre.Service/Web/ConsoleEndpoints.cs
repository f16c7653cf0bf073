using System.Globalization;
using System.Security.Claims;
using System.Text;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Figures;
using CareGateway.ResponseCentre.Service.Fhir;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// The operator console: cookie login (passwords hashed by ASP.NET Core Identity's PBKDF2 hasher), every endpoint
/// behind login except the login page, antiforgery tokens on every form, and server-sent events for the live queue.
/// </summary>
public static class ConsoleEndpoints
{
    public const string LangCookie = "centre-lang";
    public const string CsrfField = "csrf";

    /// <summary>The longest label or group of a home (checked on the server; the form says so too).</summary>
    public const int MaxLabelLength = 100;

    /// <summary>The longest operator note (the form's <c>maxlength</c>, checked again on the server).</summary>
    public const int MaxNoteLength = 2000;

    /// <summary>The longest free text of a logged call (the form's <c>maxlength</c>, checked again on the server).</summary>
    public const int MaxStepTextLength = 1000;

    /// <summary>Longest user name the login form takes; longer ones are refused before any lookup or throttle entry.</summary>
    public const int MaxUserNameLength = 100;

    /// <summary>Longest password the login form takes (long enough for any pass phrase, short enough to hash cheaply).</summary>
    public const int MaxPasswordLength = 256;

    /// <summary>Largest login request body: the token, the name, the password and the return address fit with room to spare.</summary>
    public const int MaxLoginBodyBytes = 8 * 1024;

    public static void AddConsole(IServiceCollection services)
    {
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(o =>
        {
            o.LoginPath = "/login";
            o.AccessDeniedPath = "/login";
            o.Cookie.Name = "centre-auth";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = TimeSpan.FromHours(12);
            o.SlidingExpiration = true;
            o.Events.OnValidatePrincipal = Sessions.ValidateAsync;
            o.Events.OnRedirectToLogin = c => ConsoleApi.AnswerOrRedirect(c, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = c => ConsoleApi.AnswerOrRedirect(c, StatusCodes.Status403Forbidden);
        });
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<TimeProvider, CentreSettings>((o, time, settings) =>
            {
                o.TimeProvider = time;
                o.ExpireTimeSpan = settings.Web.SessionMaxAge < o.ExpireTimeSpan ? settings.Web.SessionMaxAge : o.ExpireTimeSpan;
            });
        services.AddAuthorization(o =>
        {
            o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
            o.AddPolicy(Roles.Admin, p => p.RequireRole(Roles.Admin));
        });
        services.AddAntiforgery(o =>
        {
            o.FormFieldName = CsrfField;
            o.Cookie.Name = "centre-csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddSingleton<IAntiforgeryAdditionalDataProvider, Sessions.FormTokenBinding>();
        services.TryAddSingleton(_ => PasswordHashing.NewHasher()); // tests may put a counting or cheaper one first
        services.AddSingleton<LoginThrottle>();
    }

    public static void MapConsole(WebApplication app)
    {
        Transport.UseTransport(app);
        app.Use(async (ctx, next) =>
        {
            ctx.Response.Headers["X-Content-Type-Options"] = "nosniff";
            ctx.Response.Headers["X-Frame-Options"] = "DENY";
            // same-origin: the language switch returns to the page it came from; nothing leaks to other sites.
            ctx.Response.Headers["Referrer-Policy"] = "same-origin";
            ctx.Response.Headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
            await next();
        });
        app.UseAuthentication();
        AuditTrail.UseAuditTrail(app); // around authorization, so that a refused try is recorded too
        app.UseAuthorization();

        app.MapGet("/login", (HttpContext ctx, string? lang, string? returnUrl) =>
        {
            if (lang is not null)
            {
                SetLang(ctx, lang);
            }

            return HtmlResult(Pages.Login(Page(ctx, null, lang), false, returnUrl));
        }).AllowAnonymous();

        app.MapPost("/login", async (HttpContext ctx, ICentreStore store, IPasswordHasher<CentreUser> hasher, LoginThrottle throttle) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var name = form["username"].ToString();
            if (name.Length > MaxUserNameLength || form["password"].ToString().Length > MaxPasswordLength)
            {
                return HtmlResult(Pages.Login(Page(ctx, null), true, null), StatusCodes.Status400BadRequest);
            }

            if (throttle.TryBegin(name, ctx.Connection.RemoteIpAddress?.ToString() ?? "") is { } wait)
            {
                ctx.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                return HtmlResult(Pages.Login(Page(ctx, null), true, form["returnUrl"], wait: wait), StatusCodes.Status429TooManyRequests);
            }

            var user = name.Length == 0 ? null : await store.FindUserAsync(name, ctx.RequestAborted);
            // An unknown name costs the same hash as a known one, so that names cannot be told apart by timing.
            var checkedAgainst = user ?? UnknownUser;
            var verified = hasher.VerifyHashedPassword(checkedAgainst, user?.PasswordHash ?? DummyHash(hasher), form["password"].ToString());
            var ok = user is not null && verified != PasswordVerificationResult.Failed;
            if (!ok)
            {
                return HtmlResult(Pages.Login(Page(ctx, null), true, form["returnUrl"]), StatusCodes.Status401Unauthorized);
            }

            await PasswordHashing.RehashIfNeededAsync(store, hasher, user!, verified, form["password"].ToString(), ctx.RequestAborted);
            // A user with a second factor gets the code page here; the sign-in follows the code (POST /login/code).
            return SecondFactor.AfterPassword(ctx, user!, form["returnUrl"].ToString()) ?? await SignInAsync(ctx, user!, form["returnUrl"].ToString());
        }).AllowAnonymous().AddEndpointFilter(LimitLoginBody).AddEndpointFilter(ValidateCsrf);

        app.MapPost("/login/code", SecondFactor.CodeAsync).AllowAnonymous().AddEndpointFilter(LimitLoginBody).AddEndpointFilter(ValidateCsrf);

        var console = app.MapGroup("");
        console.MapPost("/logout", async (HttpContext ctx, ICentreStore store) =>
        {
            // Logging out ends every session of this user (also a console left open on another desk).
            await Sessions.SignOutEverywhereAsync(ctx, store);
            return Results.Redirect("/login");
        }).AddEndpointFilter(ValidateCsrf);

        console.MapPost("/lang", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            SetLang(ctx, form["lang"].ToString());
            var back = ctx.Request.Headers.Referer.ToString();
            return Results.LocalRedirect(Uri.TryCreate(back, UriKind.Absolute, out var u) && u.Host == ctx.Request.Host.Host ? u.PathAndQuery : "/");
        }).AddEndpointFilter(ValidateCsrf);

        console.MapGet("/console.js", () => Results.Text(ConsoleAssets.Js, "text/javascript", Encoding.UTF8));

        console.MapGet("/", async (HttpContext ctx, ICentreStore store, CentreSettings settings, Homes.HomeRecords homes, string? page) =>
        {
            var p = await UserPageAsync(ctx, store);
            if (!TryPage(page, out var number))
            {
                return Refused(PageError(page));
            }

            var q = await QueuePageAsync(store, settings, number, ctx);
            return HtmlResult(Pages.Queue(p, q, await GatewayMapAsync(store, ctx), await HomesOfAsync(homes, q, ctx)));
        });

        console.MapGet("/queue/rows", async (HttpContext ctx, ICentreStore store, CentreSettings settings, Homes.HomeRecords homes, string? page) =>
        {
            var p = await UserPageAsync(ctx, store);
            if (!TryPage(page, out var number))
            {
                return Refused(PageError(page));
            }

            var q = await QueuePageAsync(store, settings, number, ctx);
            return HtmlResult(Pages.QueueRows(p, q, await GatewayMapAsync(store, ctx), await HomesOfAsync(homes, q, ctx)));
        });

        console.MapGet("/events", ServerSentEventsAsync);

        console.MapPost("/alarms/{gateway}/{id}/accept", async (string gateway, string id, HttpContext ctx, CentreCore core, ICentreStore store) =>
        {
            if (AlarmKeyFromPath(ctx, gateway) is not { } key)
            {
                return Refused($"'{DateRange.Shorten(gateway)}' is not a gateway id.");
            }

            var user = await CurrentUserAsync(ctx, store);
            var result = await core.AcceptAsync(key, user, ctx.RequestAborted);
            return result == OperatorResult.NotFound ? Results.NotFound() : Results.Redirect("/");
        }).AddEndpointFilter(ValidateCsrf);

        console.MapPost("/alarms/{gateway}/{id}/close", async (string gateway, string id, HttpContext ctx, CentreCore core, ICentreStore store) =>
        {
            if (AlarmKeyFromPath(ctx, gateway) is not { } key)
            {
                return Refused($"'{DateRange.Shorten(gateway)}' is not a gateway id.");
            }

            var form = await ctx.Request.ReadFormAsync();
            var outcome = form["outcome"].ToString();
            if (!CloseOutcome.IsValid(outcome))
            {
                return Results.BadRequest($"outcome: '{outcome}' is not one of {string.Join(", ", CloseOutcome.All)}");
            }

            var note = form["note"].ToString();
            if (note.Length > MaxNoteLength)
            {
                return Refused($"note: {note.Length} characters; a note holds at most {MaxNoteLength}.");
            }

            var user = await CurrentUserAsync(ctx, store);
            var result = await core.CloseAsync(key, user, note, outcome, ctx.RequestAborted);
            return result == OperatorResult.NotFound ? Results.NotFound() : Results.Redirect("/");
        }).AddEndpointFilter(ValidateCsrf);

        console.MapGet("/history", async (HttpContext ctx, ICentreStore store, string? from, string? to) =>
        {
            var p = await UserPageAsync(ctx, store);
            if (RangeOrError(p, from, to, 7, MaxListDays, out var range) is { } refused)
            {
                return refused;
            }

            return HtmlResult(Pages.History(p, await store.AlarmsAsync(range.From, range.To, 500, ctx.RequestAborted), range.From, range.To));
        });

        ConsoleApi.Map(console);
        Homes.HomeEndpoints.Map(console);
        HandlingEndpoints.Map(app, console);

        console.MapGet("/audit", async (HttpContext ctx, ICentreStore store, string? from, string? to) =>
        {
            var p = await UserPageAsync(ctx, store);
            if (RangeOrError(p, from, to, 7, MaxListDays, out var range) is { } refused)
            {
                return refused;
            }

            return HtmlResult(AuditTrail.Page(p, await store.AuditAsync(range.From, range.To, 1000, ctx.RequestAborted), range.From, range.To, ctx.Request.QueryString.Value ?? ""));
        }).RequireAuthorization(Roles.Admin);

        console.MapGet("/audit.csv", async (HttpContext ctx, ICentreStore store, string? from, string? to) =>
        {
            var p = await UserPageAsync(ctx, store);
            if (RangeOrError(p, from, to, 7, MaxListDays, out var range) is { } refused)
            {
                return refused;
            }

            var csv = AuditTrail.Csv(await store.AuditAsync(range.From, range.To, 100_000, ctx.RequestAborted));
            return Results.File(Encoding.UTF8.GetBytes(csv), "text/csv; charset=utf-8", $"audit-{p.Local(range.From, "yyyy-MM-dd")}.csv");
        }).RequireAuthorization(Roles.Admin);

        console.MapGet("/gateways", async (HttpContext ctx, ICentreStore store) =>
        {
            var p = await UserPageAsync(ctx, store);
            return HtmlResult(Pages.Gateways(p, await store.GatewaysAsync(ctx.RequestAborted), await store.OpenAlarmsAsync(ctx.RequestAborted),
                await store.SensorsNeedingAttentionAsync(ctx.RequestAborted), await store.TestAlarmsSeenAsync(ctx.RequestAborted)));
        });

        console.MapPost("/gateways/{id}", async (string id, HttpContext ctx, ICentreStore store, CentreEvents events) =>
        {
            if (!CareGateway.Protocol.GatewayId.IsValid(id))
            {
                return Results.BadRequest($"'{id}' is not a valid gateway id");
            }

            var form = await ctx.Request.ReadFormAsync();
            string? label = Clean(form["label"].ToString()), group = Clean(form["group"].ToString());
            foreach (var (name, value) in new[] { ("label", label), ("group", group) })
            {
                if (value is { Length: > MaxLabelLength } || (value is not null && value.Any(char.IsControl)))
                {
                    return Refused($"{name}: a home's {name} is at most {MaxLabelLength} characters on one line ({value.Length} given).");
                }
            }

            await store.SetGatewayLabelAsync(id, label, group, ctx.RequestAborted);
            events.Publish("gateway");
            return Results.Redirect("/gateways");
        }).RequireAuthorization(Roles.Admin).AddEndpointFilter(ValidateCsrf);

        console.MapGet("/figures", async (HttpContext ctx, ICentreStore store, string? from, string? to, string? period, string? group) =>
        {
            var (p, report, groups, refused) = await FiguresAsync(ctx, store, from, to, period, group);
            return refused ?? HtmlResult(FiguresPage.Render(p, report!, groups, ctx.Request.QueryString.Value ?? ""));
        });

        console.MapGet("/figures.csv", async (HttpContext ctx, ICentreStore store, string? from, string? to, string? period, string? group) =>
        {
            var (_, report, _, refused) = await FiguresAsync(ctx, store, from, to, period, group);
            return refused ?? Results.File(Encoding.UTF8.GetBytes(QualityFigures.ToCsv(report!)), "text/csv; charset=utf-8", "quality-figures.csv");
        });

        console.MapGet("/figures.json", async (HttpContext ctx, ICentreStore store, string? from, string? to, string? period, string? group) =>
        {
            var (_, report, _, refused) = await FiguresAsync(ctx, store, from, to, period, group);
            return refused ?? Results.File(QualityFigures.ToJson(report!), "application/json", "quality-figures.json");
        });

        console.MapGet("/export", async (HttpContext ctx, ICentreStore store, string? from, string? to) =>
        {
            var p = await UserPageAsync(ctx, store);
            if (RangeOrError(p, from, to, 1, MaxListDays, out var range) is { } refused)
            {
                return refused;
            }

            return HtmlResult(FiguresPage.ExportPage(p, range.From, range.To));
        });

        console.MapGet("/export/fhir", async (HttpContext ctx, ICentreStore store, CentreSettings settings, Homes.HomeRecords homes, string? from, string? to) =>
        {
            var p = await UserPageAsync(ctx, store);
            if (RangeOrError(p, from, to, 1, MaxListDays, out var range) is { } refused)
            {
                return refused;
            }

            var alarms = (await store.AlarmsAsync(range.From, range.To, 10_000, ctx.RequestAborted)).Where(FhirExport.IsExportable).ToList();
            var gateways = await GatewayMapAsync(store, ctx);
            var residents = await homes.ForListAsync([.. alarms.Select(a => a.GatewayId).Distinct(StringComparer.Ordinal)], ctx.RequestAborted);
            var handling = await store.HandlingOfAlarmsRaisedAsync(range.From, range.To, ctx.RequestAborted);
            var json = FhirExport.ToJson(FhirExport.Build(alarms, gateways, settings.CentreId, p.Now, p.Zone, residents, handling));
            return Results.File(Encoding.UTF8.GetBytes(json), "application/fhir+json", "alarms-fhir.json");
        });
    }

    /// <summary>
    /// The one way into a session, after the password (a user without a second factor) or after the code: clears the
    /// name's failed tries, issues the cookie, and goes back to the page the user came from (a local one only).
    /// </summary>
    internal static async Task<IResult> SignInAsync(HttpContext ctx, CentreUser user, string returnUrl)
    {
        ctx.RequestServices.GetRequiredService<LoginThrottle>().Succeeded(user.UserName);
        await Sessions.SignInAsync(ctx, user);
        return Results.LocalRedirect(returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal) ? returnUrl : "/");
    }

    private static async Task ServerSentEventsAsync(HttpContext ctx, CentreEvents events, TimeProvider time, IHostApplicationLifetime lifetime, ICentreStore store, CentreSettings settings)
    {
        // The stream ends when the operator leaves or the service stops (so that a shutdown does not wait for it).
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, lifetime.ApplicationStopping);
        var stop = ended.Token;
        ctx.Response.Headers.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        var channel = events.Subscribe();
        try
        {
            await ctx.Response.WriteAsync("retry: 2000\n\n", stop);
            await ctx.Response.Body.FlushAsync(stop);
            while (!stop.IsCancellationRequested)
            {
                string kind;
                using (var tick = new CancellationTokenSource(TimeSpan.FromSeconds(15), time))
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(tick.Token, stop))
                {
                    try
                    {
                        kind = await channel.Reader.ReadAsync(linked.Token);
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                        // A regular tick: the page re-reads the queue, which also shows changes made by other instances.
                        kind = "tick";
                    }
                }

                // A stream outlives the request that checked its session: on each tick it checks again, and ends
                // when the session has (logout elsewhere, a new password or role, the session's age).
                if (kind == "tick" && await Sessions.CurrentUserAsync(ctx.User, store, settings.Web.SessionMaxAge, time.GetUtcNow(), stop) is null)
                {
                    await ctx.Response.WriteAsync("event: ended\ndata: ended\n\n", stop);
                    await ctx.Response.Body.FlushAsync(stop);
                    return;
                }

                // Everything that arrived meanwhile goes out as one event: a flood of alarms costs each console
                // one re-read per write, not one per alarm ('alarm' wins, since it makes the page signal).
                while (channel.Reader.TryRead(out var more))
                {
                    kind = more == "alarm" ? more : kind == "alarm" ? kind : more;
                }

                await ctx.Response.WriteAsync($"event: {kind}\ndata: {kind}\n\n", stop);
                await ctx.Response.Body.FlushAsync(stop);
            }
        }
        catch (OperationCanceledException)
        {
            // The operator closed the page.
        }
        finally
        {
            events.Unsubscribe(channel);
        }
    }

    /// <summary>
    /// Refuses a login request over <see cref="MaxLoginBodyBytes"/> before anything reads it (the CSRF check reads
    /// the form): by its declared length at once, and a body sent without one stops being read at the limit.
    /// </summary>
    private static async ValueTask<object?> LimitLoginBody(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var ctx = context.HttpContext;
        var tooLarge = Results.Text($"The login form is larger than {MaxLoginBodyBytes} bytes and was not read.", "text/plain; charset=utf-8", Encoding.UTF8, StatusCodes.Status413PayloadTooLarge);
        if (ctx.Request.ContentLength > MaxLoginBodyBytes)
        {
            return tooLarge;
        }

        if (ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxLoginBodyBytes;
        }

        try
        {
            // Read (and buffer) the form here, under the limit, so that the CSRF check and the handler reuse it.
            await ctx.Request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions
            {
                ValueLengthLimit = MaxLoginBodyBytes,
                KeyLengthLimit = 64,
                ValueCountLimit = 16,
            }, ctx.RequestAborted);
        }
        catch (Exception e) when (e is BadHttpRequestException or InvalidDataException)
        {
            return tooLarge;
        }

        return await next(context);
    }

    internal static async ValueTask<object?> ValidateCsrf(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        // A form posted from another site: its Origin names that site ("null" from a sandboxed frame or a file).
        // Browsers send Origin on every POST; one that differs from this console's own address is refused before
        // the token is even looked at.
        var request = context.HttpContext.Request;
        if (request.Headers.Origin is { Count: > 0 } origin && !string.Equals(origin.ToString(), $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase))
        {
            return Results.Text($"This form was sent from {DateRange.Shorten(origin.ToString())}, not from this console; it was not carried out.", "text/plain; charset=utf-8", Encoding.UTF8, StatusCodes.Status403Forbidden);
        }

        var antiforgery = context.HttpContext.RequestServices.GetRequiredService<IAntiforgery>();
        if (!await antiforgery.IsRequestValidAsync(context.HttpContext))
        {
            return Results.BadRequest("The form's security token is missing or out of date (CSRF check). Reload the page and try again.");
        }

        return await next(context);
    }

    /// <summary>400 with the sentence as plain text: what was wrong, in words.</summary>
    internal static IResult Refused(string sentence) => Results.Text(sentence, "text/plain; charset=utf-8", Encoding.UTF8, StatusCodes.Status400BadRequest);

    private static readonly CentreUser UnknownUser = new() { UserName = "", OperatorId = "", PasswordHash = "", Role = Roles.Operator };
    private static string? _dummyHash;

    /// <summary>A hash of a random password, made once by the same hasher (so with the same work) as the real ones.</summary>
    private static string DummyHash(IPasswordHasher<CentreUser> hasher) =>
        _dummyHash ??= hasher.HashPassword(UnknownUser, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)));

    internal static IResult HtmlResult(string html, int status = StatusCodes.Status200OK) =>
        Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);

    private static void SetLang(HttpContext ctx, string lang) =>
        ctx.Response.Cookies.Append(LangCookie, Texts.Normalize(lang), new CookieOptions { HttpOnly = true, Secure = ctx.Request.IsHttps, SameSite = SameSiteMode.Strict, MaxAge = TimeSpan.FromDays(365), IsEssential = true });

    internal static PageContext Page(HttpContext ctx, CentreUser? user, string? langOverride = null)
    {
        var settings = ctx.RequestServices.GetRequiredService<CentreSettings>();
        var lang = Texts.Normalize(langOverride ?? ctx.Request.Cookies[LangCookie] ?? settings.DefaultLanguage);
        var tokens = ctx.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(ctx);
        return new PageContext(lang, user, tokens.FormFieldName, tokens.RequestToken ?? "", Zone(settings.TimeZone), ctx.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow());
    }

    internal static async Task<PageContext> UserPageAsync(HttpContext ctx, ICentreStore store) => Page(ctx, await CurrentUserAsync(ctx, store));

    internal static async Task<CentreUser> CurrentUserAsync(HttpContext ctx, ICentreStore store)
    {
        var name = ctx.User.Identity?.Name ?? throw new InvalidOperationException("no user on an authorized endpoint");
        return await store.FindUserAsync(name, ctx.RequestAborted)
            ?? new CentreUser { UserName = name, OperatorId = ctx.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? name, PasswordHash = "", Role = ctx.User.FindFirstValue(ClaimTypes.Role) ?? Roles.Operator };
    }

    private static async Task<IReadOnlyDictionary<string, GatewayRecord>> GatewayMapAsync(ICentreStore store, HttpContext ctx) =>
        (await store.GatewaysAsync(ctx.RequestAborted)).ToDictionary(g => g.GatewayId, StringComparer.Ordinal);

    private static TimeZoneInfo Zone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (TimeZoneNotFoundException)
        {
            return TimeZoneInfo.Utc;
        }
    }

    /// <summary>
    /// One page of the queue: at most <c>Centre:Web:QueuePageSize</c> rows, so that a flood of alarms from one home
    /// costs each console one bounded read per live update, not the whole queue.
    /// </summary>
    internal static async Task<QueuePage> QueuePageAsync(ICentreStore store, CentreSettings settings, int number, HttpContext ctx)
    {
        var size = Math.Clamp(settings.Web.QueuePageSize, 10, 1000);
        var skip = (int)Math.Min((long)(number - 1) * size, int.MaxValue - size);
        var open = await store.OpenAlarmsPageAsync(skip, size, ctx.RequestAborted);
        return new QueuePage(number, skip, open.Rows, open.Total);
    }

    /// <summary>The resident records of the homes on one queue page (one read, however long the queue).</summary>
    private static Task<IReadOnlyDictionary<string, Homes.HomeRecord>> HomesOfAsync(Homes.HomeRecords homes, QueuePage page, HttpContext ctx) =>
        homes.ForListAsync([.. page.Rows.Select(a => a.GatewayId).Distinct(StringComparer.Ordinal)], ctx.RequestAborted);

    internal static bool TryPage(string? page, out int number)
    {
        number = 1;
        return string.IsNullOrEmpty(page) || (page.Length <= 6 && int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out number) && number >= 1);
    }

    internal static string PageError(string? page) => $"page: '{DateRange.Shorten(page ?? "")}' is not a page number (1, 2, 3 ...).";

    /// <summary>The longest range, in days, of the history and the record export.</summary>
    internal const int MaxListDays = 366;

    /// <summary>The range asked for, or the answer that refuses it (400 with a sentence naming the value).</summary>
    private static string? Clean(string s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static IResult? RangeOrError(PageContext p, string? from, string? to, int defaultDays, int maxDays, out DateRange range)
    {
        var (parsed, error) = DateRange.Parse(from, to, defaultDays, maxDays, p.Zone, p.Now);
        range = parsed ?? default;
        return error is null ? null : Refused(error);
    }

    /// <summary>
    /// The figures for a page or a download. The period must be day, week or month; the range is capped by the period
    /// (400 days by day, five years by week, ten by month) so that one request cannot cost the service its memory;
    /// the group must be one the centre knows, so nothing typed into the address comes back in a file.
    /// </summary>
    private static async Task<(PageContext Page, FigureReport? Report, IReadOnlyList<string> Groups, IResult? Refused)> FiguresAsync(
        HttpContext ctx, ICentreStore store, string? from, string? to, string? period, string? group)
    {
        var p = await UserPageAsync(ctx, store);
        if (!FigurePeriods.TryParse(period, out var kind))
        {
            return (p, null, [], Refused($"period: '{DateRange.Shorten(period ?? "")}' is not one of day, week, month."));
        }

        var maxDays = kind switch { FigurePeriod.Day => 400, FigurePeriod.Week => 5 * 366, _ => 10 * 366 };
        if (RangeOrError(p, from, to, 30, maxDays, out var range) is { } refused)
        {
            return (p, null, [], refused);
        }

        var groups = (await store.GatewaysAsync(ctx.RequestAborted)).Select(g => g.HomeGroup).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (!string.IsNullOrWhiteSpace(group) && group != QualityFigures.NoGroup && !groups.Contains(group, StringComparer.Ordinal))
        {
            return (p, null, groups, Refused($"group: '{DateRange.Shorten(group)}' is not a home group of this centre."));
        }

        var report = await QualityFigures.ComputeAsync(store, range.From, range.To, kind, group, p.Zone, p.Now, ctx.RequestAborted);
        return (p, report, groups, null);
    }

    internal static DateTimeOffset LocalMidnight(TimeZoneInfo zone, DateOnly day)
    {
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    /// <summary>
    /// The alarm a console link names: <c>/alarms/{gateway}/{id}/...</c>, both URL-encoded. An alarm is one gateway's
    /// (another gateway may send the same id: it is another alarm), so the link carries both. The server decodes
    /// every escape but <c>%2F</c> in a route value, so the id is read from the raw request target and decoded exactly
    /// once. Null when the gateway id is not one.
    /// </summary>
    internal static AlarmKey? AlarmKeyFromPath(HttpContext ctx, string gateway)
    {
        if (!CareGateway.Protocol.GatewayId.IsValid(gateway))
        {
            return null;
        }

        var raw = ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? "";
        var prefix = "/alarms/" + Uri.EscapeDataString(gateway) + "/";
        if (!raw.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        // An action ends the id with '/'; the alarm's own page (/alarms/{gateway}/{id}) with the query or the end.
        var end = raw.IndexOfAny(['/', '?'], prefix.Length);
        end = end < 0 ? raw.Length : end;
        return end == prefix.Length ? null : new AlarmKey(gateway, Uri.UnescapeDataString(raw[prefix.Length..end]));
    }

    /// <summary>The console's link to act on one alarm (<c>accept</c>, <c>close</c>, <c>call</c>, <c>dispatch</c>), every part URL-encoded.</summary>
    public static string AlarmAction(StoredAlarm a, string action) => AlarmPath(a) + "/" + action;

    /// <summary>The console's page of one alarm: <c>/alarms/{gateway}/{id}</c>, every part URL-encoded.</summary>
    public static string AlarmPath(StoredAlarm a) => $"/alarms/{Uri.EscapeDataString(a.GatewayId)}/{Uri.EscapeDataString(a.AlarmId)}";
}
