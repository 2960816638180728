"""The layer classes of graphc.nn, one family per file (as torch.nn.modules)."""
from .module import Module
from .container import Sequential, ModuleList, ModuleDict
from .linear import Identity, Linear, Bilinear
from .flatten import Flatten, Unflatten
from .sparse import Embedding
from .conv import Conv1d, Conv2d
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d,
                      AdaptiveAvgPool2d)
from .batchnorm import BatchNorm1d, BatchNorm2d
from .normalization import LayerNorm
from .dropout import Dropout
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell
from .activation import (ReLU, ReLU6, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax,
                         ELU, Softplus, Hardtanh)
from .loss import (MSELoss, L1Loss, SmoothL1Loss, CrossEntropyLoss, NLLLoss, BCELoss,
                   BCEWithLogitsLoss)
