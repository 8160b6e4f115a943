"""Paper trading: feeds of closed bars, a paper broker with the backtest's fills, and the loop between them."""

from neurotrade.live._bars import BarGate, FeedBar, Rejection
from neurotrade.live._broker import BarEvents, Broker, Fill, Order, TargetOrder, Trade
from neurotrade.live._feed import Feed, FeedItem
from neurotrade.live._files import write_session_folder
from neurotrade.live._follow_feed import FollowFeed
from neurotrade.live._open_feed import open_feed
from neurotrade.live._paper_broker import PaperBroker
from neurotrade.live._replay_feed import ReplayFeed
from neurotrade.live._session import PaperSession, PaperStep, PaperSummary
from neurotrade.live._state import SessionStore
from neurotrade.live._ws_feed import WebSocketFeed

__all__ = [
    "BarEvents",
    "BarGate",
    "Broker",
    "Feed",
    "FeedBar",
    "FeedItem",
    "Fill",
    "FollowFeed",
    "Order",
    "PaperBroker",
    "PaperSession",
    "PaperStep",
    "PaperSummary",
    "Rejection",
    "ReplayFeed",
    "SessionStore",
    "TargetOrder",
    "Trade",
    "WebSocketFeed",
    "open_feed",
    "write_session_folder",
]
