"""The Notification Service: send (seed), delivery log (seed), in-app inbox, web push,
channel preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.auth import CurrentUser
from api.deps import SessionDep, StateDep
from api.envelope import Envelope, error_responses, ok
from api.schemas.auth import Message
from api.schemas.base import Offset, RowId
from api.schemas.notifications import (
    InAppNotification,
    InAppPage,
    LogEntry,
    LogList,
    PreferencesBody,
    PreferencesUpdate,
    PushKey,
    PushSubscribe,
    PushSubscribed,
    PushUnsubscribe,
    ReadAll,
    SendRequest,
    SendResult,
    UnreadCount,
)
from core.errors import Conflict, InvalidInput
from services import notifications as service

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


class PushNotConfigured(Conflict):
    message = "Web push is not configured on this platform"


@router.post(
    "/send",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[SendResult],
    responses=error_responses(400, 401, 403),
    summary="Send a notification (admins to anyone, instructors to their learners, "
    "students to themselves)",
)
async def send(
    body: SendRequest, user: CurrentUser, session: SessionDep, state: StateDep
) -> Envelope[SendResult]:
    push_enabled = state.settings.webpush.enabled
    notification = await session.run_sync(
        lambda s: service.request_notification(
            s,
            sender=user,
            user_id=body.user_id,
            channel=body.type,
            message=body.message,
            push_enabled=push_enabled,
        )
    )
    return ok(
        SendResult(
            notification_id=notification.notification_id, message="Notification sent successfully"
        )
    )


@router.get(
    "/log",
    response_model=Envelope[LogList],
    responses=error_responses(401, 404),
    summary="Delivery attempts of a user's notifications (their own, or anyone's for admins)",
)
async def delivery_log(
    user: CurrentUser,
    session: SessionDep,
    user_id: Annotated[RowId | None, Query(alias="userId")] = None,
) -> Envelope[LogList]:
    target = user.user_id if user_id is None else user_id
    rows = await session.run_sync(lambda s: service.logs_for(s, viewer=user, user_id=target))
    return ok(LogList(logs=[LogEntry.model_validate(row) for row in rows]))


@router.get(
    "",
    response_model=Envelope[InAppPage],
    responses=error_responses(401),
    summary="The signed-in user's in-app notifications, newest first",
)
async def inbox(
    user: CurrentUser,
    session: SessionDep,
    state: StateDep,
    unread: bool = False,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[Offset, Query()] = 0,
) -> Envelope[InAppPage]:
    api = state.settings.api
    size = api.page_size(limit)
    rows, total = await session.run_sync(
        lambda s: service.in_app_page(
            s, user_id=user.user_id, unread_only=unread, limit=size, offset=offset
        )
    )
    items = [InAppNotification.model_validate(row) for row in rows]
    return ok(InAppPage(items=items, total=total, limit=size, offset=offset))


@router.get("/unread-count", response_model=Envelope[UnreadCount], responses=error_responses(401))
async def unread_count(user: CurrentUser, session: SessionDep) -> Envelope[UnreadCount]:
    count = await session.run_sync(lambda s: service.unread_count(s, user.user_id))
    return ok(UnreadCount(count=count))


@router.post(
    "/{notification_id}/read",
    response_model=Envelope[InAppNotification],
    responses=error_responses(401, 404),
    summary="Mark one in-app notification as read",
)
async def mark_read(
    notification_id: RowId, user: CurrentUser, session: SessionDep
) -> Envelope[InAppNotification]:
    row = await session.run_sync(
        lambda s: service.mark_read(s, user_id=user.user_id, notification_id=notification_id)
    )
    return ok(InAppNotification.model_validate(row))


@router.post("/read-all", response_model=Envelope[ReadAll], responses=error_responses(401))
async def mark_all_read(user: CurrentUser, session: SessionDep) -> Envelope[ReadAll]:
    marked = await session.run_sync(lambda s: service.mark_all_read(s, user_id=user.user_id))
    return ok(ReadAll(marked=marked))


@router.get(
    "/preferences", response_model=Envelope[PreferencesBody], responses=error_responses(401)
)
async def get_preferences(user: CurrentUser, session: SessionDep) -> Envelope[PreferencesBody]:
    prefs = await session.run_sync(lambda s: service.get_preferences(s, user.user_id))
    return ok(PreferencesBody(email=prefs.email, in_app=prefs.in_app, push=prefs.push))


@router.put(
    "/preferences",
    response_model=Envelope[PreferencesBody],
    responses=error_responses(400, 401),
    summary="Choose the channels (account emails always go out)",
)
async def put_preferences(
    body: PreferencesUpdate, user: CurrentUser, session: SessionDep
) -> Envelope[PreferencesBody]:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if not changes:
        raise InvalidInput("give at least one of email, inApp, push", field="body")
    prefs = await session.run_sync(lambda s: service.set_preferences(s, user.user_id, **changes))
    return ok(PreferencesBody(email=prefs.email, in_app=prefs.in_app, push=prefs.push))


@router.get(
    "/push/public-key",
    response_model=Envelope[PushKey],
    responses=error_responses(409),
    summary="The VAPID public key the PWA subscribes with",
)
async def push_public_key(state: StateDep) -> Envelope[PushKey]:
    if not state.settings.webpush.enabled:
        raise PushNotConfigured()
    return ok(PushKey(public_key=state.settings.webpush.vapid_public_key))


@router.post(
    "/push/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[PushSubscribed],
    responses=error_responses(400, 401, 409),
    summary="Keep this browser's push subscription",
)
async def subscribe(
    body: PushSubscribe, user: CurrentUser, session: SessionDep, state: StateDep
) -> Envelope[PushSubscribed]:
    if not state.settings.webpush.enabled:
        raise PushNotConfigured()
    if not body.endpoint.startswith("https://") and not state.settings.webpush.allow_http_endpoints:
        raise InvalidInput("must be an https address of a push service", field="endpoint")
    subscription_id = await session.run_sync(
        lambda s: service.subscribe_push(
            s,
            user_id=user.user_id,
            endpoint=body.endpoint,
            p256dh=body.keys.p256dh,
            auth=body.keys.auth,
        )
    )
    return ok(PushSubscribed(subscription_id=subscription_id, message="Subscribed to push"))


@router.post(
    "/push/unsubscribe",
    response_model=Envelope[Message],
    responses=error_responses(401, 404),
    summary="Forget this browser's push subscription",
)
async def unsubscribe(
    body: PushUnsubscribe, user: CurrentUser, session: SessionDep
) -> Envelope[Message]:
    await session.run_sync(
        lambda s: service.unsubscribe_push(s, user_id=user.user_id, endpoint=body.endpoint)
    )
    return ok(Message(message="Unsubscribed from push"))
